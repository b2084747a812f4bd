import os, sys, yaml
p = yaml.safe_load(open("params.yaml"))["featurize"]
os.makedirs(sys.argv[2], exist_ok=True)
for part in ("train", "test"):
    rows = open(os.path.join(sys.argv[1], part + ".tsv")).read().split()
    feats = [len(r) % p["max_features"] * p["ngrams"] for r in rows]
    open(os.path.join(sys.argv[2], part + ".txt"), "w").write(" ".join(map(str, feats)))
