"""What simcloud adds in front of moto: injected faults (AWS's own error documents, status codes and the SDK's view
of them), the Price List API's GetProducts from loaded products, spot prices, the log of calls, and a Boot fault
that keeps an instance's host from booting. Run with ../run-tests.sh."""
import json
import os
import random
import unittest

import botocore.config
import botocore.exceptions

from test_simcloud import Simcloud

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                       "sortie-executors-aws", "src", "test", "resources", "aws-pricing", "us-east-1-get-products.json")


class FaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cloud = Simcloud()
        cls.ec2 = cls.cloud.client("ec2")
        a = random.randint(100, 199)
        vpc = cls.ec2.create_vpc(CidrBlock="127.%d.0.0/16" % a)["Vpc"]["VpcId"]
        cls.subnet_a = cls.ec2.create_subnet(VpcId=vpc, CidrBlock="127.%d.1.0/24" % a,
                                             AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
        cls.subnet_b = cls.ec2.create_subnet(VpcId=vpc, CidrBlock="127.%d.2.0/24" % a,
                                             AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
        cls.ami = cls.ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    @classmethod
    def tearDownClass(cls):
        cls.cloud.close()

    def setUp(self):
        self.cloud.api("POST", "/faults/clear", {})

    def tearDown(self):
        live = [i["InstanceId"] for r in self.ec2.describe_instances(Filters=[
            {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"] for i in r["Instances"]]
        if live:
            self.ec2.terminate_instances(InstanceIds=live)

    def run_one(self, subnet, spot=False, client=None):
        args = dict(ImageId=self.ami, MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnet)
        if spot:
            args["InstanceMarketOptions"] = {"MarketType": "spot"}
        return (client or self.ec2).run_instances(**args)["Instances"][0]["InstanceId"]

    def test_a_capacity_fault_answers_matching_requests_only_and_only_so_many_times(self):
        code, f = self.cloud.api("POST", "/faults", {"action": "RunInstances", "error": "InsufficientInstanceCapacity",
                                                     "match": {"InstanceType": "t3.micro", "zone": "us-east-1a",
                                                               "market": "spot"}, "times": 1})
        self.assertEqual(200, code, f)
        plain = botocore.config.Config(retries={"total_max_attempts": 1})  # see the first answer, not a retry's
        import boto3
        c = boto3.client("ec2", endpoint_url=self.cloud.endpoint, region_name="us-east-1", aws_access_key_id="testing",
                         aws_secret_access_key="testing", config=plain)
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.run_one(self.subnet_a, spot=True, client=c)
        self.assertEqual("InsufficientInstanceCapacity", e.exception.response["Error"]["Code"])
        self.assertIn("t3.micro capacity in the Availability Zone you requested (us-east-1a)",
                      e.exception.response["Error"]["Message"])
        self.assertEqual(500, e.exception.response["ResponseMetadata"]["HTTPStatusCode"])
        # another zone, on-demand, and the same request once the fault is spent: moto answers
        self.run_one(self.subnet_b, spot=True, client=c)
        self.run_one(self.subnet_a, spot=False, client=c)
        self.run_one(self.subnet_a, spot=True, client=c)
        _, faults = self.cloud.api("GET", "/faults")
        self.assertEqual(1, faults[0]["hits"])
        _, log = self.cloud.api("GET", "/requests?action=RunInstances")
        self.assertEqual([("us-east-1a", "spot", "InsufficientInstanceCapacity"), ("us-east-1b", "spot", None),
                          ("us-east-1a", "on-demand", None), ("us-east-1a", "spot", None)],
                         [(r["zone"], r["market"], r["error"]) for r in log])

    def test_throttling_is_retried_by_the_sdk(self):
        self.cloud.api("POST", "/faults", {"action": "DescribeInstances", "error": "RequestLimitExceeded", "times": 2})
        self.ec2.describe_instances()  # boto3's standard retries absorb two throttled answers
        _, log = self.cloud.api("GET", "/requests?action=DescribeInstances")
        self.assertEqual(["RequestLimitExceeded", "RequestLimitExceeded", None], [r["error"] for r in log])

    def test_a_bad_fault_is_refused(self):
        code, body = self.cloud.api("POST", "/faults", {"action": "RunInstances"})
        self.assertEqual(409, code)
        self.assertIn("error", body["error"])
        code, _ = self.cloud.api("POST", "/faults", {"action": "RunInstances", "error": "X", "times": 0})
        self.assertEqual(409, code)

    def test_get_products_filters_and_pages_the_loaded_products(self):
        with open(FIXTURE) as f:
            products = json.load(f)["PriceList"]
        code, body = self.cloud.api("POST", "/pricing", {"products": products})
        self.assertEqual(200, code, body)
        pricing = self.cloud.client("pricing")
        filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
                   {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
                   {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"}]
        seen = []
        for page in pricing.get_paginator("get_products").paginate(ServiceCode="AmazonEC2", Filters=filters,
                                                                   PaginationConfig={"PageSize": 5}):
            self.assertLessEqual(len(page["PriceList"]), 5)
            seen += [json.loads(p)["product"]["attributes"]["instanceType"] for p in page["PriceList"]]
        self.assertIn("t3.micro", seen)
        self.assertNotIn("t3.nano", seen)  # Windows
        self.assertNotIn("t2.nano", seen)  # an unused capacity reservation
        self.assertEqual(len(products) - 2, len(seen))

    def test_spot_prices_replace_motos_constant(self):
        self.cloud.api("POST", "/spot-prices", {"region": "us-east-1", "prices": [
            {"InstanceType": "t3.micro", "AvailabilityZone": "us-east-1a", "SpotPrice": "0.0031"},
            {"InstanceType": "t3.micro", "AvailabilityZone": "us-east-1b", "SpotPrice": "0.0042"}]})
        h = self.ec2.describe_spot_price_history(InstanceTypes=["t3.micro"],
                                                 Filters=[{"Name": "availability-zone", "Values": ["us-east-1b"]}])
        self.assertEqual([("us-east-1b", "0.0042")], [(p["AvailabilityZone"], p["SpotPrice"]) for p in h["SpotPriceHistory"]])

    def test_service_quotas_answers_the_values_a_test_set_as_aws_does(self):
        sq = self.cloud.client("service-quotas")
        with self.assertRaises(sq.exceptions.NoSuchResourceException):
            sq.get_service_quota(ServiceCode="ec2", QuotaCode="L-1216C47A")
        self.cloud.api("POST", "/quotas", {"region": "us-east-1", "quotas": [
            {"ServiceCode": "ec2", "QuotaCode": "L-1216C47A", "Value": 8,
             "QuotaName": "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"}],
            "defaults": [{"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA", "Value": 0}]})
        q = sq.get_service_quota(ServiceCode="ec2", QuotaCode="L-1216C47A")["Quota"]
        self.assertEqual(8.0, q["Value"])
        self.assertEqual("arn:aws:servicequotas:us-east-1:123456789012:ec2/L-1216C47A", q["QuotaArn"])
        self.assertEqual(0.0, sq.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode="L-DB2E81BA")["Quota"]["Value"])
        # another region has none of them
        other = self.cloud.client("service-quotas", region="eu-west-1")
        with self.assertRaises(other.exceptions.NoSuchResourceException):
            other.get_service_quota(ServiceCode="ec2", QuotaCode="L-1216C47A")

    def test_a_boot_fault_keeps_the_host_from_booting_until_terminated(self):
        self.cloud.api("POST", "/faults", {"action": "Boot", "match": {"zone": "us-east-1b"}, "times": 1})
        iid = self.run_one(self.subnet_b)
        vm = self.cloud.wait_vm(iid, vm="unreachable")
        self.assertIsNone(vm["ssh_host"])
        self.ec2.terminate_instances(InstanceIds=[iid])
        self.cloud.wait_vm(iid, vm="down", state="terminated")
        # the fault is spent: the next instance boots
        other = self.run_one(self.subnet_b)
        self.cloud.wait_vm(other, vm="running")


if __name__ == "__main__":
    unittest.main()
