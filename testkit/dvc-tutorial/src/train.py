import sys, yaml
p = yaml.safe_load(open("params.yaml"))["train"]
feats = [int(x) for x in open(sys.argv[1] + "/train.txt").read().split()]
open(sys.argv[2], "w").write(str(sum(feats) * p["n_est"] / (1000.0 * p["min_split"])))
