"""The simulated cloud, proven on its own: boto3 against moto, the real OpenSSH client into each VM with its host
key checked, IMDSv2 from inside the VM, spot notices, and every way a host dies. Run with ../run-tests.sh."""
import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
SIMCLOUD = os.path.join(os.path.dirname(HERE), "simcloud.py")


def wait_until(what, fn, timeout=20.0, interval=0.05):
    """Polls fn until it returns something truthy; fails the test saying what was awaited."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0f s waiting for %s (last: %r)" % (timeout, what, last))


def marked_processes(marker):
    needle = b"SIMCLOUD_VM_MARKER=" + marker.encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if any(e == needle or e.startswith(needle + b"/") for e in env):
            found.append(int(name))
    return found


def mocks_of(state_dir):
    """The metadata mocks whose config lies under state_dir."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"ec2-metadata-mock") and any(a.startswith(state_dir.encode()) for a in argv):
            found.append(int(name))
    return found


def refused(host, port):
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


class Simcloud:
    """One simcloud process, as a Java test would start it."""

    def __init__(self, extra=(), parent_wrapper=False):
        self.dir = tempfile.mkdtemp(prefix="simcloud-test-")
        argv = [sys.executable, SIMCLOUD, "--state-dir", self.dir, "--shutdown-grace", "1"] + list(extra)
        if os.environ.get("SIMCLOUD_NO_NAMESPACES"):
            argv.append("--no-namespaces")  # the plain mode that non-root users get
        self.log = open(os.path.join(self.dir, "stdout.log"), "wb")
        if parent_wrapper:
            # A parent of its own, which the test can kill: simcloud must notice and take its VMs down.
            # No --watch-stdin here: what is tested is the parent-pid watch alone.
            code = ("import subprocess,sys,time; subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL); "
                    "time.sleep(3600)")
            self.proc = subprocess.Popen([sys.executable, "-c", code] + argv, stdout=self.log, stderr=self.log,
                                         start_new_session=True)
        else:
            self.proc = subprocess.Popen(argv + ["--watch-stdin"], stdin=subprocess.PIPE, stdout=self.log,
                                         stderr=self.log)
        ready = os.path.join(self.dir, "ready.json")
        wait_until("simcloud's ready.json (see %s/simcloud.log)" % self.dir, lambda: os.path.exists(ready), 60)
        with open(ready) as f:
            self.ready = json.load(f)
        self.endpoint = self.ready["endpoint_url"]
        self.control = self.ready["control_url"]

    def client(self, service, region="us-east-1"):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def api(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def wait_vm(self, iid, timeout=30, **want):
        code, vm = self.api("POST", "/wait", dict(instance_id=iid, timeout=timeout, **want), timeout=timeout + 10)
        if code != 200:
            raise AssertionError("VM %s never matched %s: %s" % (iid, want, vm))
        return vm

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # the test run ends: simcloud sees EOF
            except (OSError, AttributeError):
                pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class SimcloudTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cloud = Simcloud()
        cls.ec2 = cls.cloud.client("ec2")
        # A VPC in 127.0.0.0/8, so instances get loopback private addresses (random, so parallel runs differ).
        a = random.randint(100, 199)
        cls.vpc = cls.ec2.create_vpc(CidrBlock="127.%d.0.0/16" % a)["Vpc"]["VpcId"]
        b = random.randint(1, 250)
        cls.subnet = cls.ec2.create_subnet(VpcId=cls.vpc, CidrBlock="127.%d.%d.0/24" % (a, b),
                                           AvailabilityZone="us-east-1b")["Subnet"]
        cls.cidr_prefix = "127.%d.%d." % (a, b)
        cls.sg = cls.ec2.create_security_group(GroupName="sortie-test", Description="ssh", VpcId=cls.vpc)["GroupId"]
        cls.ec2.authorize_security_group_ingress(GroupId=cls.sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "127.0.0.1/32"}]}])
        kp = cls.ec2.create_key_pair(KeyName="sortie-test", KeyType="ed25519")
        cls.key = os.path.join(cls.cloud.dir, "id_sortie_test")
        with open(cls.key, "w") as f:
            f.write(kp["KeyMaterial"])
        os.chmod(cls.key, 0o600)
        cls.ami = cls.ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    @classmethod
    def tearDownClass(cls):
        state_dir = cls.cloud.dir
        cls.cloud.close()
        try:
            # Nothing of any VM outlives simcloud.
            assert cls.cloud.proc.returncode == 0, "simcloud exited with %s" % cls.cloud.proc.returncode
            assert not marked_processes(state_dir), "VM processes left: %s" % marked_processes(state_dir)
            assert not mocks_of(state_dir), "metadata mocks left: %s" % mocks_of(state_dir)
            assert not os.path.exists(os.path.join(state_dir, "ready.json"))
        finally:
            if not os.environ.get("SIMCLOUD_KEEP"):
                shutil.rmtree(state_dir, ignore_errors=True)

    # ---- helpers ---------------------------------------------------------------------------------------------

    def run_instance(self, user_data=None, spot=False, **kw):
        args = dict(ImageId=self.ami, MinCount=1, MaxCount=1, InstanceType="t3.micro", KeyName="sortie-test",
                    SubnetId=self.subnet["SubnetId"], SecurityGroupIds=[self.sg], **kw)
        if user_data is not None:
            args["UserData"] = user_data
        if spot:
            args["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": {
                "SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"}}
        inst = self.ec2.run_instances(**args)["Instances"][0]
        self.assertTrue(inst["PrivateIpAddress"].startswith(self.cidr_prefix), inst["PrivateIpAddress"])
        return inst["InstanceId"]

    def ssh(self, vm, command, check=True, timeout=30):
        kh = os.path.join(self.cloud.dir, "kh-" + vm["instance_id"])
        with open(kh, "w") as f:
            f.write(vm["known_hosts"] + "\n")
        argv = ["ssh", "-F", "/dev/null", "-i", self.key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + kh, "-o", "ConnectTimeout=5",
                "-p", str(vm["ssh_port"]), "%s@%s" % (vm["ssh_user"], vm["ssh_host"]), command]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            self.fail("ssh %s %r: exit %d: %s" % (vm["ssh_host"], command, r.returncode, r.stderr))
        return r

    def imds_from_vm(self, vm, path, token_file=None, new_token=True):
        """GET path from the VM's IMDS, from inside the VM (IMDSv2: PUT a token first, or reuse a saved one)."""
        script = r'''
import os, sys, urllib.request, urllib.error
base = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
tok_file, path, new = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if new:
    req = urllib.request.Request(base + "/latest/api/token", method="PUT",
                                 headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    tok = urllib.request.urlopen(req, timeout=5).read().decode()
    open(tok_file, "w").write(tok)
tok = open(tok_file).read()
req = urllib.request.Request(base + path, headers={"X-aws-ec2-metadata-token": tok})
try:
    r = urllib.request.urlopen(req, timeout=5)
    print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)
'''
        encoded = base64.b64encode(script.encode()).decode()
        cmd = "echo %s | base64 -d > /tmp/imds.py && python3 /tmp/imds.py %s %s %s" % (
            encoded, token_file or "/tmp/imds-token", path, "1" if new_token else "0")
        out = self.ssh(vm, cmd).stdout
        status, _, body = out.partition("\n")
        return int(status), body.strip()

    def moto_instance(self, iid):
        return self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]

    def assert_host_gone(self, vm):
        self.assertTrue(refused(vm["ssh_host"], vm["ssh_port"]), "sshd still answers on %s" % vm["ssh_host"])
        wait_until("no process of %s left" % vm["instance_id"], lambda: not marked_processes(vm["vm_dir"]), 5)

    # ---- tests -----------------------------------------------------------------------------------------------

    def test_instance_boots_as_a_host_with_ssh_user_data_and_imdsv2(self):
        user_data = "\n".join([
            "#!/bin/bash",
            "set -e",
            "echo user data ran as $(id -un) > ~/user-data-ran",
            "echo IMDS=$AWS_EC2_METADATA_SERVICE_ENDPOINT",
            # a background process that outlives the script, as a node agent would
            "setsid nohup sleep 3600 > /dev/null 2>&1 < /dev/null &",
            "echo user data done",
            ""])
        iid = self.run_instance(user_data)
        vm = self.cloud.wait_vm(iid, vm="running")
        self.assertEqual("running", vm["state"])
        self.assertTrue(vm["ssh_host"].startswith(self.cidr_prefix))
        if os.geteuid() == 0:
            self.assertEqual(22, vm["ssh_port"])
        vm = wait_until("user data to finish", lambda: (lambda v: v if v["user_data_status"] else None)(
            self.cloud.api("GET", "/vms/" + iid)[1]))
        self.assertEqual("0", vm["user_data_status"])

        r = self.ssh(vm, "cat ~/user-data-ran; pgrep -x sleep >/dev/null && echo sleeper alive; hostname")
        self.assertIn("user data ran as %s" % vm["ssh_user"], r.stdout)
        self.assertIn("sleeper alive", r.stdout)
        with open(vm["cloud_init_output"]) as f:
            output = f.read()
        self.assertIn("user data done", output)
        self.assertIn("IMDS=" + vm["imds_endpoint"], output)

        status, body = self.imds_from_vm(vm, "/latest/meta-data/instance-id")
        self.assertEqual((200, iid), (status, body))
        self.assertEqual((200, "us-east-1b"), self.imds_from_vm(vm, "/latest/meta-data/placement/availability-zone"))
        self.assertEqual((200, vm["private_ip"]), self.imds_from_vm(vm, "/latest/meta-data/local-ipv4"))
        self.assertEqual((200, "on-demand"), self.imds_from_vm(vm, "/latest/meta-data/instance-life-cycle"))
        self.assertEqual(404, self.imds_from_vm(vm, "/latest/meta-data/spot/instance-action")[0])
        doc = json.loads(self.imds_from_vm(vm, "/latest/dynamic/instance-identity/document")[1])
        self.assertEqual((iid, "us-east-1", "t3.micro"), (doc["instanceId"], doc["region"], doc["instanceType"]))
        # IMDSv2 only: no token, no answer.
        with urllib.request.urlopen(urllib.request.Request(vm["imds_endpoint"] + "/latest/api/token", method="PUT",
                                    headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}), timeout=5) as r:
            self.assertEqual(200, r.status)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(vm["imds_endpoint"] + "/latest/meta-data/instance-id", timeout=5)
        self.assertEqual(401, e.exception.code)

        # The recorded known_hosts line is the one sshd presents; another key is refused.
        with open(self.cloud.ready["known_hosts"]) as f:
            self.assertIn(vm["known_hosts"], f.read().splitlines())
        bad = dict(vm, known_hosts=vm["known_hosts"].split()[0] + " ssh-ed25519 "
                   "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")
        self.assertEqual(255, self.ssh(bad, "true", check=False).returncode)

        self.ec2.terminate_instances(InstanceIds=[iid])
        self.cloud.wait_vm(iid, vm="down")
        self.assert_host_gone(vm)

    def test_spot_instance_gets_the_notice_and_dies_at_its_time(self):
        iid = self.run_instance("#!/bin/sh\nsetsid nohup sleep 3600 >/dev/null 2>&1 </dev/null &\n", spot=True)
        self.assertEqual("spot", self.moto_instance(iid).get("InstanceLifecycle"))
        vm = self.cloud.wait_vm(iid, vm="running")
        self.assertTrue(vm["spot"])
        self.assertEqual((200, "spot"), self.imds_from_vm(vm, "/latest/meta-data/instance-life-cycle",
                                                          token_file="~/token"))
        self.assertEqual(404, self.imds_from_vm(vm, "/latest/meta-data/spot/instance-action",
                                                token_file="~/token", new_token=False)[0])

        code, after = self.cloud.api("POST", "/vms/%s/interrupt" % iid, {"in_seconds": 3})
        self.assertEqual(200, code, after)
        notice = after["spot_notice"]
        # The token taken before the notice still works (as on AWS), and the notice is there at once.
        status, body = self.imds_from_vm(vm, "/latest/meta-data/spot/instance-action", token_file="~/token",
                                         new_token=False)
        self.assertEqual(200, status)
        self.assertEqual({"action": "terminate", "time": notice["time"]}, json.loads(body))
        self.assertEqual((200, notice["time"]), self.imds_from_vm(vm, "/latest/meta-data/spot/termination-time"))
        self.assertEqual((200, iid), self.imds_from_vm(vm, "/latest/meta-data/instance-id"))

        down = self.cloud.wait_vm(iid, vm="down", timeout=15)
        died = time.time()
        notice_epoch = time.mktime(time.strptime(notice["time"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        self.assertGreaterEqual(died, notice_epoch, "the VM died before the notice's time")
        self.assertLess(died, notice_epoch + 2.0, "the VM outlived the notice's time")
        self.assertIn("spot interruption", down["down_reason"])
        self.assert_host_gone(vm)
        inst = self.moto_instance(iid)
        self.assertEqual("terminated", inst["State"]["Name"])
        self.assertEqual("Server.SpotInstanceTermination", inst["StateReason"]["Code"])

    def test_rebalance_recommendation(self):
        iid = self.run_instance(spot=True)
        vm = self.cloud.wait_vm(iid, vm="running")
        path = "/latest/meta-data/events/recommendations/rebalance"
        self.assertEqual(404, self.imds_from_vm(vm, path, token_file="~/token")[0])
        code, after = self.cloud.api("POST", "/vms/%s/rebalance" % iid)
        self.assertEqual(200, code, after)
        status, body = self.imds_from_vm(vm, path, token_file="~/token", new_token=False)
        self.assertEqual((200, {"noticeTime": after["rebalance_recommendation"]}), (status, json.loads(body)))
        self.assertEqual(404, self.imds_from_vm(vm, "/latest/meta-data/spot/instance-action")[0])
        self.assertEqual("running", self.cloud.api("GET", "/vms/" + iid)[1]["vm"])  # a recommendation kills nothing
        self.ec2.terminate_instances(InstanceIds=[iid])
        self.cloud.wait_vm(iid, vm="down")

    def test_an_instance_profile_s_role_gets_credentials_from_the_metadata_service(self):
        iam = self.cloud.client("iam")
        iam.create_role(RoleName="sortie-node-t", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
        iam.create_instance_profile(InstanceProfileName="sortie-node-t")
        iam.add_role_to_instance_profile(InstanceProfileName="sortie-node-t", RoleName="sortie-node-t")
        with_role = self.run_instance(IamInstanceProfile={"Name": "sortie-node-t"})
        without = self.run_instance()
        vm = self.cloud.wait_vm(with_role, vm="running")
        self.assertEqual((200, "sortie-node-t"), self.imds_from_vm(vm, "/latest/meta-data/iam/security-credentials"))
        # the AWS SDKs ask with the trailing slash
        self.assertEqual((200, "sortie-node-t"), self.imds_from_vm(vm, "/latest/meta-data/iam/security-credentials/"))
        status, body = self.imds_from_vm(vm, "/latest/meta-data/iam/security-credentials/sortie-node-t")
        self.assertEqual(200, status)
        creds = json.loads(body)
        self.assertEqual("Success", creds["Code"])
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"), creds)
        self.assertNotEqual("testing", creds["SecretAccessKey"])  # never the caller's keys
        self.assertGreater(creds["Expiration"], time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)))
        status, body = self.imds_from_vm(vm, "/latest/meta-data/iam/info")
        self.assertIn("instance-profile/sortie-node-t", json.loads(body)["InstanceProfileArn"])
        # as on AWS, an instance launched without a profile has no iam/ metadata
        bare = self.cloud.wait_vm(without, vm="running")
        self.assertEqual(404, self.imds_from_vm(bare, "/latest/meta-data/iam/security-credentials/")[0])
        self.ec2.terminate_instances(InstanceIds=[with_role, without])
        for i in (with_role, without):
            self.cloud.wait_vm(i, vm="down")

    def test_several_instances_are_several_hosts(self):
        ids = [i["InstanceId"] for i in self.ec2.run_instances(
            ImageId=self.ami, MinCount=3, MaxCount=3, InstanceType="t3.micro", KeyName="sortie-test",
            SubnetId=self.subnet["SubnetId"])["Instances"]]
        vms = [self.cloud.wait_vm(i, vm="running") for i in ids]
        self.assertEqual(3, len({v["ssh_host"] for v in vms}))
        self.assertEqual(3, len({v["host_key"] for v in vms}))
        self.assertEqual(3, len({v["imds_endpoint"] for v in vms}))
        for i, v in zip(ids, vms):
            self.assertEqual((200, i), self.imds_from_vm(v, "/latest/meta-data/instance-id"))
        # one of them dies; the others go on
        self.cloud.api("POST", "/vms/%s/kill" % ids[0])
        self.assert_host_gone(vms[0])
        for v in vms[1:]:
            self.assertEqual("ok", self.ssh(v, "echo ok").stdout.strip())
        self.ec2.terminate_instances(InstanceIds=ids[1:])
        for i in ids[1:]:
            self.cloud.wait_vm(i, vm="down")

    def test_an_on_demand_instance_gets_no_spot_notice(self):
        iid = self.run_instance()
        self.cloud.wait_vm(iid, vm="running")
        code, body = self.cloud.api("POST", "/vms/%s/interrupt" % iid, {"in_seconds": 1})
        self.assertEqual(409, code)
        self.assertIn("on-demand", body["error"])
        self.ec2.terminate_instances(InstanceIds=[iid])
        self.cloud.wait_vm(iid, vm="down")

    def test_terminate_through_the_api_kills_the_host_and_all_its_processes(self):
        # A double-forked, setsid'd process: not in sshd's process tree nor its process group.
        iid = self.run_instance("#!/bin/sh\n( setsid sh -c 'sleep 3600' </dev/null >/dev/null 2>&1 & ) \n")
        vm = self.cloud.wait_vm(iid, vm="running")
        self.ssh(vm, "setsid nohup sleep 3601 </dev/null >/dev/null 2>&1 &")
        wait_until("the VM's processes", lambda: len(marked_processes(vm["vm_dir"])) >= 3, 10)
        self.ec2.terminate_instances(InstanceIds=[iid])
        down = self.cloud.wait_vm(iid, vm="down", timeout=15)
        self.assertEqual("terminated", down["state"])
        self.assert_host_gone(vm)

    def test_stop_and_start_boots_the_same_host_again_without_user_data(self):
        iid = self.run_instance("#!/bin/sh\necho ran >> ~/runs\n")
        vm = self.cloud.wait_vm(iid, vm="running")
        wait_until("user data", lambda: self.cloud.api("GET", "/vms/" + iid)[1]["user_data_status"])
        self.ssh(vm, "echo kept > ~/on-disk; echo gone > /tmp/in-tmpfs-%s" % iid)
        self.ec2.stop_instances(InstanceIds=[iid])
        self.cloud.wait_vm(iid, vm="down", state="stopped")
        self.assert_host_gone(vm)
        self.ec2.start_instances(InstanceIds=[iid])
        again = self.cloud.wait_vm(iid, vm="running")
        self.assertEqual(2, again["boots"])
        self.assertEqual(vm["known_hosts"], again["known_hosts"])  # same disk, same host key
        r = self.ssh(again, "cat ~/runs ~/on-disk; ls /tmp/in-tmpfs-%s 2>&1 || true" % iid)
        self.assertEqual(["ran", "kept"], r.stdout.splitlines()[:2])
        if self.cloud.ready["namespaces"]:
            self.assertIn("No such file", r.stdout)  # /tmp is the VM's own tmpfs, empty after a boot
        self.ec2.terminate_instances(InstanceIds=[iid])
        self.cloud.wait_vm(iid, vm="down")

    def test_a_vm_that_powers_itself_off_is_terminated(self):
        iid = self.run_instance(InstanceInitiatedShutdownBehavior="terminate")
        vm = self.cloud.wait_vm(iid, vm="running")
        # As a node watchdog would: the command, detached, from inside the VM.
        self.ssh(vm, "nohup shutdown -h now >/dev/null 2>&1 </dev/null &")
        down = self.cloud.wait_vm(iid, vm="down", state="terminated", timeout=15)
        self.assertIn("poweroff from inside", down["down_reason"])
        self.assertEqual("Client.InstanceInitiatedShutdown", self.moto_instance(iid)["StateReason"]["Code"])
        self.assert_host_gone(vm)

    def test_poweroff_with_the_default_behaviour_stops_the_instance(self):
        iid = self.run_instance()
        vm = self.cloud.wait_vm(iid, vm="running")
        self.ssh(vm, "poweroff", check=False)  # the session dies with the host
        self.cloud.wait_vm(iid, vm="down", state="stopped", timeout=15)
        self.assert_host_gone(vm)
        self.ec2.terminate_instances(InstanceIds=[iid])

    def test_kill_without_notice(self):
        iid = self.run_instance(spot=True)
        vm = self.cloud.wait_vm(iid, vm="running")
        code, body = self.cloud.api("POST", "/vms/%s/kill" % iid)
        self.assertEqual((200, "down", "terminated"), (code, body["vm"], body["state"]))
        self.assert_host_gone(vm)
        self.assertEqual("terminated", self.moto_instance(iid)["State"]["Name"])

    def test_instances_outside_127_8_get_a_loopback_host_anyway(self):
        default_subnet = self.ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]
        inst = self.ec2.run_instances(ImageId=self.ami, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                      KeyName="sortie-test", SubnetId=default_subnet["SubnetId"])["Instances"][0]
        iid = inst["InstanceId"]
        vm = self.cloud.wait_vm(iid, vm="running")
        self.assertFalse(vm["private_ip"].startswith("127."))
        self.assertTrue(vm["ssh_host"].startswith("127."), vm["ssh_host"])
        self.assertEqual("ok", self.ssh(vm, "echo ok").stdout.strip())
        self.ec2.terminate_instances(InstanceIds=[iid])
        self.cloud.wait_vm(iid, vm="down")

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("losetup"), "block devices need root and loop devices")
    def test_an_attached_volume_is_a_block_device_whose_data_outlives_its_instance(self):
        vol = self.ec2.create_volume(AvailabilityZone="us-east-1b", Size=1, VolumeType="gp3")["VolumeId"]
        iid = self.run_instance()
        vm = self.cloud.wait_vm(iid, vm="running")
        self.ec2.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/sdf")
        vm = wait_until("the volume on the host", lambda: (lambda v: v if v["volumes"] else None)(
            self.cloud.api("GET", "/vms/" + iid)[1]))
        self.assertEqual(("/dev/sdf", vol, 1), (vm["volumes"][0]["device"], vm["volumes"][0]["volume_id"],
                                                 vm["volumes"][0]["size_gib"]))
        # The VM's own block device: a real file system made and mounted there, seen by nothing else.
        r = self.ssh(vm, "test -b /dev/sdf && ! blkid -p /dev/sdf && mkfs.ext4 -q /dev/sdf && mkdir -p /mnt/v"
                         " && mount /dev/sdf /mnt/v && echo kept > /mnt/v/data && sync && df -k /mnt/v | tail -n 1"
                         " && ls /dev | grep -c loop || true")
        self.assertIn("/mnt/v", r.stdout)
        self.assertTrue(r.stdout.strip().endswith("0"), "the VM sees none of this machine's loop devices: %s" % r.stdout)
        self.assertFalse(os.path.exists("/dev/sdf"), "nothing is made in this machine's /dev")

        # AWS's refusals that moto lacks: a volume attaches to one instance at a time, in its own zone only.
        other = self.run_instance()
        self.cloud.wait_vm(other, vm="running")
        with self.assertRaises(Exception) as e:
            self.ec2.attach_volume(VolumeId=vol, InstanceId=other, Device="/dev/sdf")
        self.assertIn("VolumeInUse", str(e.exception))
        elsewhere = self.ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
        with self.assertRaises(Exception) as e:
            self.ec2.attach_volume(VolumeId=elsewhere, InstanceId=other, Device="/dev/sdg")
        self.assertIn("InvalidVolume.ZoneMismatch", str(e.exception))

        # Terminated: the volume is detached (as AWS does) and its data goes to the next instance.
        self.ec2.terminate_instances(InstanceIds=[iid])
        self.cloud.wait_vm(iid, vm="down")
        wait_until("the volume available", lambda: self.ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]["State"]
                   == "available")
        self.ec2.modify_volume(VolumeId=vol, Size=2)
        self.ec2.attach_volume(VolumeId=vol, InstanceId=other, Device="/dev/sdf")
        vm2 = wait_until("the volume on the next host", lambda: (lambda v: v if v["volumes"] else None)(
            self.cloud.api("GET", "/vms/" + other)[1]))
        self.assertEqual(2, vm2["volumes"][0]["size_gib"])
        # grown offline (online resizing needs CAP_SYS_RESOURCE, which a container may lack)
        r = self.ssh(vm2, "e2fsck -f -y /dev/sdf 1>&2; resize2fs /dev/sdf 1>&2; mkdir -p /mnt/v && mount /dev/sdf /mnt/v;"
                          " cat /mnt/v/data; df -k /mnt/v | tail -n 1 | awk '{print $2}'")
        lines = r.stdout.split()
        self.assertEqual("kept", lines[0], r.stderr)
        self.assertGreater(int(lines[1]), 1500000, "grown to 2 GiB: %s" % r.stderr)

        # Detached through the API: unmounted in the VM and gone from it.
        self.ec2.detach_volume(VolumeId=vol, InstanceId=other)
        wait_until("the device gone", lambda: not self.cloud.api("GET", "/vms/" + other)[1]["volumes"])
        self.assertEqual("gone", self.ssh(vm2, "test -e /dev/sdf && echo there || echo gone").stdout.strip())
        self.ec2.terminate_instances(InstanceIds=[other])
        self.cloud.wait_vm(other, vm="down")
        self.assertTrue(os.path.exists(os.path.join(self.cloud.dir, "volumes", vol + ".img")))

    def test_s3_answers(self):
        s3 = self.cloud.client("s3")
        s3.create_bucket(Bucket="sortie-test-store")
        s3.put_object(Bucket="sortie-test-store", Key="blobs/ab/cd", Body=b"checkpoint")
        self.assertEqual(b"checkpoint", s3.get_object(Bucket="sortie-test-store", Key="blobs/ab/cd")["Body"].read())


def boot_one(cloud):
    ec2 = cloud.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="127.201.0.0/16")["Vpc"]["VpcId"]
    sn = ec2.create_subnet(VpcId=vpc, CidrBlock="127.201.%d.0/24" % random.randint(1, 250))["Subnet"]
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, SubnetId=sn["SubnetId"],
                            UserData="#!/bin/sh\nsetsid nohup sleep 3600 >/dev/null 2>&1 </dev/null &\n"
                            )["Instances"][0]["InstanceId"]
    vm = cloud.wait_vm(iid, vm="running")
    wait_until("the VM's processes", lambda: len(marked_processes(vm["vm_dir"])) >= 2, 10)
    return vm


class ParentDeathTest(unittest.TestCase):
    @unittest.skipIf(os.geteuid() != 0 or os.environ.get("SIMCLOUD_NO_NAMESPACES"),
                     "plain processes (no namespaces) do not all die with a SIGKILLed simcloud")
    def test_no_vm_outlives_a_sigkilled_simcloud(self):
        cloud = Simcloud()
        try:
            vm = boot_one(cloud)
            cloud.proc.kill()
            cloud.proc.wait()
            wait_until("the VM and its mock to die with simcloud", lambda: not marked_processes(cloud.dir)
                       and not mocks_of(cloud.dir), 10)
            self.assertTrue(refused(vm["ssh_host"], vm["ssh_port"]))
        finally:
            cloud.close()
            shutil.rmtree(cloud.dir, ignore_errors=True)

    def test_no_vm_outlives_simcloud_s_parent(self):
        cloud = Simcloud(parent_wrapper=True)
        try:
            ec2 = cloud.client("ec2")
            vpc = ec2.create_vpc(CidrBlock="127.201.0.0/16")["Vpc"]["VpcId"]
            sn = ec2.create_subnet(VpcId=vpc, CidrBlock="127.201.%d.0/24" % random.randint(1, 250))["Subnet"]
            ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
            iid = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, SubnetId=sn["SubnetId"],
                                    UserData="#!/bin/sh\nsetsid nohup sleep 3600 >/dev/null 2>&1 </dev/null &\n"
                                    )["Instances"][0]["InstanceId"]
            vm = cloud.wait_vm(iid, vm="running")
            wait_until("the VM's processes", lambda: marked_processes(vm["vm_dir"]), 10)
            os.kill(cloud.proc.pid, signal.SIGKILL)  # the test JVM dies: simcloud's parent is gone
            cloud.proc.wait()
            wait_until("simcloud to take its VMs down", lambda: not marked_processes(cloud.dir)
                       and not mocks_of(cloud.dir), 20)
            wait_until("simcloud to exit", lambda: not os.path.exists("/proc/%d" % cloud.ready["pid"]), 20)
            self.assertFalse(os.path.exists(os.path.join(cloud.dir, "ready.json")))
            self.assertTrue(refused(vm["ssh_host"], vm["ssh_port"]))
        finally:
            cloud.log.close()
            shutil.rmtree(cloud.dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
