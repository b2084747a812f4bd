"""The init process (PID 1) of one simulated VM. Started by simcloud.py, never by hand.

As root it runs inside `unshare --pid --fork --uts --mount --propagation private --mount-proc`: a PID namespace
of its own (when this process dies the kernel kills every process of the VM, detached or double-forked ones included)
and a mount namespace of its own, where the VM's disk folder is mounted over /root and /var/log, with fresh
tmpfs on /tmp and /run, and the VM's folder at /run/simcloud. Without root ("plain" mode) it runs in a session of
its own and mounts nothing; the harness then finds the VM's processes by a marker in their environment.

It starts the VM's sshd, runs the user data once per instance (as cloud-init does: a `#!` script as root, its
output appended to /var/log/cloud-init-output.log), reaps orphans, and on SIGTERM shuts the VM down: SIGTERM to
every process, a grace period, then exit (the kernel SIGKILLs what is left of the namespace).

Standard library only, all imports up front: /root (where a pyenv Python lives) may be covered by the VM's disk.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time


def log(msg):
    sys.stderr.write("vm_init[%s]: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def main():
    host_dir = sys.argv[1]
    with open(os.path.join(host_dir, "boot.json")) as f:
        boot = json.load(f)
    ns = boot["mode"] == "ns"
    if ns:
        socket.sethostname(boot["hostname"])  # a UTS namespace of its own
        # The VM's folder first (it may lie under /tmp, which is covered next).
        mount("-t", "tmpfs", "-o", "mode=755", "simcloud-run", "/run")
        os.makedirs("/run/simcloud")
        mount("--bind", host_dir, "/run/simcloud")
        os.makedirs("/run/sshd", mode=0o755)
        mount("-t", "tmpfs", "-o", "mode=1777", "simcloud-tmp", "/tmp")
        mount("--bind", "/run/simcloud/disk/root", "/root")
        mount("--bind", "/run/simcloud/disk/var/log", "/var/log")
        # The power commands of this VM, wherever they are called from (/usr/sbin/poweroff is often a link to
        # systemctl: the link's target is covered, and the shim dispatches on the name it was called by).
        covered = set()
        for name in ("poweroff", "shutdown", "halt", "reboot", "systemctl"):
            for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
                p = os.path.join(d, name)
                if os.path.lexists(p):
                    real = os.path.realpath(p)
                    if os.path.isfile(real) and real not in covered:
                        covered.add(real)
                        mount("--bind", "/run/simcloud/bin/power-shim", real)
        vm_dir = "/run/simcloud"
    else:
        vm_dir = host_dir

    env = dict(boot["env"])
    sshd_log = open(os.path.join(vm_dir, "sshd.log"), "ab")
    # The Popen objects are kept: a discarded one reaps its child in __del__ if it has exited, and the loop
    # below would never see the user data's exit status.
    children = []
    children.append(subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", os.path.join(vm_dir, "sshd_config")],
                     stdin=subprocess.DEVNULL, stdout=sshd_log, stderr=sshd_log, env=env, cwd="/"))

    userdata_pid = None
    sem = os.path.join(vm_dir, "disk", "var", "lib", "simcloud", "user-data.done")
    finished = os.path.join(vm_dir, "boot-finished")
    output_path = os.path.join(vm_dir, "disk", "var", "log", "cloud-init-output.log")
    script = os.path.join(vm_dir, "user-data")
    if os.path.exists(script) and not os.path.exists(sem):
        with open(script, "rb") as f:
            head = f.read(2)
        out = open(output_path, "ab")
        if head == b"#!":
            os.chmod(script, 0o755)
            open(sem, "w").close()
            out.write(b"simcloud: running user data (first boot)\n")
            out.flush()
            ud_env = dict(env)
            ud_env["HOME"] = boot["home"]
            children.append(subprocess.Popen([script], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                             env=ud_env, cwd="/"))
            userdata_pid = children[-1].pid
        else:
            out.write(b"simcloud: user data is not a #! script; only scripts are run (no cloud-config, "
                      b"no MIME multipart)\n")
            out.close()
            open(sem, "w").close()
            with open(finished, "w") as f:
                f.write("unsupported\n")
    else:
        with open(finished, "w") as f:
            f.write("none\n" if not os.path.exists(script) else "not-first-boot\n")

    grace = float(boot.get("grace", 2.0))

    def shutdown(signum, frame):
        log("shutting down (signal %d): SIGTERM to every process, %.1f s grace" % (signum, grace))
        if ns:
            try:
                os.kill(-1, signal.SIGTERM)  # every process of this PID namespace but init
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    time.sleep(0.02)
        os._exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            # Nothing left to reap (plain mode, or everything exited): stay up until told to go.
            signal.pause()
            continue
        if pid == userdata_pid:
            code = os.waitstatus_to_exitcode(status)
            with open(finished, "w") as f:
                f.write("%d\n" % code)
            log("user data exited with %d" % code)


if __name__ == "__main__":
    main()
