import os, random, sys, yaml
p = yaml.safe_load(open("params.yaml"))["prepare"]
rows = [l.strip() for l in open(sys.argv[1]) if l.strip()]
random.seed(p["seed"])
os.makedirs("data/prepared", exist_ok=True)
with open("data/prepared/train.tsv", "w") as tr, open("data/prepared/test.tsv", "w") as te:
    for r in rows:
        (te if random.random() < p["split"] else tr).write(r + "\n")
