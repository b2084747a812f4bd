import json, os, sys
w = float(open(sys.argv[1]).read())
feats = [int(x) for x in open(sys.argv[2] + "/test.txt").read().split()]
auc = 1.0 / (1.0 + abs(w - sum(feats) / 100.0))
os.makedirs("eval/plots", exist_ok=True)
json.dump({"avg_prec": {"test": round(auc * 0.9, 6)}, "roc_auc": {"test": round(auc, 6)}}, open("eval/metrics.json", "w"))
json.dump({"roc": [{"fpr": x / 4, "tpr": min(1.0, auc + x / 4)} for x in range(5)]}, open("eval/plots/roc.json", "w"))
