# A small, real training for the spot-recovery tests and benchmark (SpotRecoveryTest, bench/spot.py): a linear
# regression trained by SGD with a fixed seed, so the loss at every step is known from a run without interruption.
# Usage: python3 train.py STEPS PAUSE_S EVERY. One step per PAUSE_S seconds, printing "step=N loss=L"; its weights
# and step saved as JSON, atomically (a temp file renamed), every EVERY steps and on SIGTERM (then it exits 143);
# with SORTIE_RESUMED=1 it goes on from that checkpoint, saying "resumed from the checkpoint of step N".
import json, os, random, signal, sys, time
steps, pause, every = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
ckdir = os.environ.get("SORTIE_CHECKPOINT_DIR", "checkpoints")
os.makedirs(ckdir, exist_ok=True)
ck = os.path.join(ckdir, "state.json")
rng = random.Random(7)
xs = [rng.uniform(-1, 1) for _ in range(64)]
data = [(x, 3 * x - 2 + rng.gauss(0, 0.1)) for x in xs]
w, b, step = 0.0, 0.0, 0
if os.environ.get("SORTIE_RESUMED") == "1" and os.path.exists(ck):
    with open(ck) as f:
        s = json.load(f)
    w, b, step = s["w"], s["b"], s["step"]
    print(f"resumed from the checkpoint of step {step}", flush=True)
def save():
    tmp = ck + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"w": w, "b": b, "step": step}, f)
    os.replace(tmp, ck)
term = [False]
signal.signal(signal.SIGTERM, lambda *a: term.__setitem__(0, True))
while step < steps:
    x, y = data[step % len(data)]
    e = w * x + b - y
    w -= 0.1 * e * x
    b -= 0.1 * e
    step += 1
    loss = sum((w * x + b - y) ** 2 for x, y in data) / len(data)
    print(f"step={step} loss={loss:.12f}", flush=True)
    if step % every == 0:
        save()
    if term[0]:
        save()
        print(f"checkpoint saved on SIGTERM at step {step}", flush=True)
        sys.exit(143)
    time.sleep(pause)
save()
print(f"final w={w:.12f} b={b:.12f}", flush=True)
