"""A tiny training script for Sortie's quickstart: plain Python, standard library only.

It fits y = 3x + 1 with noisy data by gradient descent, and does what a real training script does:
reads params from its command line, prints metrics (one `key=value ... step=N` line per epoch),
saves a checkpoint every epoch (and resumes from it when Sortie restarts an interrupted run),
checkpoints and exits on SIGTERM, and writes a model file and a report as artifacts.
"""
import argparse
import json
import os
import random
import signal
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--batch-size", type=int, default=16)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--sleep", type=float, default=0.05, help="seconds per epoch, to make runs watchable")
args = parser.parse_args()

ckpt_dir = os.environ.get("SORTIE_CHECKPOINT_DIR", "checkpoints")
os.makedirs(ckpt_dir, exist_ok=True)
ckpt_path = os.path.join(ckpt_dir, "state.json")

rng = random.Random(args.seed)
data = [(x, 3.0 * x + 1.0 + rng.gauss(0, 0.1)) for x in (rng.uniform(-1, 1) for _ in range(512))]
w, b, start = 0.0, 0.0, 0
if os.environ.get("SORTIE_RESUMED") == "1" and os.path.exists(ckpt_path):
    with open(ckpt_path) as f:
        state = json.load(f)
    w, b, start = state["w"], state["b"], state["epoch"] + 1
    print(f"resumed from checkpoint at epoch {state['epoch']}", flush=True)

stopping = False


def on_sigterm(signum, frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_sigterm)


def save_checkpoint(epoch):
    tmp = ckpt_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"epoch": epoch, "w": w, "b": b}, f)
    os.replace(tmp, ckpt_path)


for epoch in range(start, args.epochs):
    rng.shuffle(data)
    for i in range(0, len(data), args.batch_size):
        batch = data[i:i + args.batch_size]
        gw = sum(2 * (w * x + b - y) * x for x, y in batch) / len(batch)
        gb = sum(2 * (w * x + b - y) for x, y in batch) / len(batch)
        w -= args.lr * gw
        b -= args.lr * gb
    loss = sum((w * x + b - y) ** 2 for x, y in data) / len(data)
    acc = sum(1 for x, y in data if abs(w * x + b - y) < 0.25) / len(data)
    print(f"epoch={epoch} loss={loss:.6f} acc={acc:.4f} step={epoch}", flush=True)
    save_checkpoint(epoch)
    if stopping:
        print("SIGTERM: checkpoint saved, exiting", flush=True)
        sys.exit(143)
    time.sleep(args.sleep)

with open("model.json", "w") as f:
    json.dump({"w": w, "b": b}, f)
os.makedirs("reports", exist_ok=True)
with open(os.path.join("reports", "summary.txt"), "w") as f:
    f.write(f"final loss {loss:.6f}, w={w:.4f}, b={b:.4f}\n")
print(f"done: w={w:.4f} b={b:.4f}", flush=True)
