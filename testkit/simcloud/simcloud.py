#!/usr/bin/env python3
"""A simulated AWS for Sortie's tests: moto answers the EC2 and S3 APIs on loopback, and every instance moto
reports running is a real local host (its own sshd on the instance's 127/8 private address, its own disk folder,
PID and mount namespaces as root), with AWS's amazon-ec2-metadata-mock as its metadata service.

    python simcloud.py --state-dir DIR [--watch-stdin]

Writes DIR/ready.json once up ({"endpoint_url", "control_url", ...}; also printed as one line on stdout,
`SIMCLOUD_READY {...}`), keeps DIR/state.json (every VM) and DIR/known_hosts current, and serves a small JSON
control API on loopback (see README.md). Exits, killing every VM, on SIGTERM/SIGINT, POST /shutdown, when its
parent process dies, or (with --watch-stdin) when its stdin closes.
"""
import argparse
import base64
import ctypes
import datetime
import http.client
import http.server
import io
import ipaddress
import json
import logging
import math
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("SIMCLOUD_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "sortie-tests"))
FAR_FUTURE = "2999-01-01T00:00:00Z"
LONG_AGO = "2000-01-01T00:00:00Z"
TOKEN_HEADER = "x-aws-ec2-metadata-token"
TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
PR_SET_PDEATHSIG = 1

log = logging.getLogger("simcloud")
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """preexec_fn: a new session, and SIGKILL when the thread that started us (the watcher) dies."""
    os.setsid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_free(host, port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def listening(host, port, timeout=0.2):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def rfc3339(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atomic(path, text, mode=None):
    tmp = path + ".tmp%d" % threading.get_ident()
    with open(tmp, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, path)


def marked_processes(marker):
    """Pids of processes whose environment carries SIMCLOUD_VM_MARKER=marker (the VM's own, wherever they went)."""
    needle = ("SIMCLOUD_VM_MARKER=" + marker).encode() + b"\0"
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                env = f.read() + b"\0"
        except OSError:
            continue
        if b"\0" + needle in b"\0" + env:
            found.append(int(name))
    return found


def proc_table():
    """{pid: (ppid, session id)} of every process."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            table[int(name)] = (int(fields[1]), int(fields[3]))
        except (OSError, IndexError, ValueError):
            continue
    return table


def vm_processes(marker, session):
    """Every process of a VM run as plain processes: those of its session, those carrying its marker (sshd's
    setproctitle hides its environment, sessions call setsid), and every descendant of those."""
    table = proc_table()
    found = {pid for pid, (_, sid) in table.items() if session and sid == session}
    found |= set(marked_processes(marker))
    while True:
        more = {pid for pid, (ppid, _) in table.items() if ppid in found and pid not in found}
        if not more:
            return sorted(p for p in found if p in table or p in found)
        found |= more


# --------------------------------------------------------------------------------------------------------------
# The metadata service of one VM: a stable loopback port in front of amazon-ec2-metadata-mock.
# --------------------------------------------------------------------------------------------------------------

class ImdsFront:
    """A plain HTTP relay on the VM's IMDS port to the VM's current amazon-ec2-metadata-mock process.

    The mock reads its spot timing once at start (v1.13.0 reloads static metadata with --watch-config-file, not
    the spot notice), so a spot notice means a new mock process with the notice configured. The relay keeps the
    port the VM knows and keeps IMDSv2 tokens valid across the switch, as on AWS: a token the previous mock
    issued is exchanged, once, for one of the new mock's with the TTL it has left. Everything else (paths,
    status codes, headers, bodies, the 401 for a missing or expired token) is the mock's own answer."""

    def __init__(self, port):
        self.port = port
        self.backend_port = None
        self.generation = 0
        self.lock = threading.Lock()
        self.tokens = {}  # token -> (generation, expires_at_monotonic)
        self.translated = {}  # (old token, generation) -> new token
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("connection", "keep-alive", "proxy-connection", "host")}
                try:
                    status, reason, out_headers, data = front.forward(self.command, self.path, headers, body)
                except OSError as e:
                    self.send_error(502, "metadata mock unreachable: %s" % e)
                    return
                self.send_response(status, reason)
                for k, v in out_headers:
                    if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length", "date",
                                         "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="imds-%d" % port, daemon=True).start()

    def switch(self, backend_port):
        with self.lock:
            self.backend_port = backend_port
            self.generation += 1

    def _call(self, port, method, path, headers, body):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.reason, r.getheaders(), r.read()
        finally:
            conn.close()

    def forward(self, method, path, headers, body):
        with self.lock:
            port, gen = self.backend_port, self.generation
        lower = {k.lower(): k for k in headers}
        token = headers.get(lower.get(TOKEN_HEADER, ""), None)
        if token is not None:
            with self.lock:
                known = self.tokens.get(token)
                swapped = self.translated.get((token, gen))
            if known is not None and known[0] != gen:
                left = int(known[1] - time.monotonic())
                if left > 0:
                    if swapped is None:
                        st, _, hs, data = self._call(port, "PUT", "/latest/api/token", {TTL_HEADER: str(left)}, None)
                        if st == 200:
                            swapped = data.decode().strip()
                            with self.lock:
                                self.translated[(token, gen)] = swapped
                    if swapped is not None:
                        headers = dict(headers)
                        headers[lower[TOKEN_HEADER]] = swapped
        status, reason, out_headers, data = self._call(port, method, path, headers, body)
        if method == "PUT" and path.split("?")[0].rstrip("/") == "/latest/api/token" and status == 200:
            ttl = headers.get(lower.get(TTL_HEADER, ""), "0")
            try:
                with self.lock:
                    self.tokens[data.decode().strip()] = (gen, time.monotonic() + int(ttl))
            except ValueError:
                pass
        return status, reason, out_headers, data

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------------------------------------------
# One VM
# --------------------------------------------------------------------------------------------------------------

class Vm:
    def __init__(self, cloud, inst, account, region):
        self.cloud = cloud
        self.id = inst.id
        self.account = account
        self.region = region
        self.dir = os.path.join(cloud.state_dir, "vms", self.id)
        self.disk = os.path.join(self.dir, "disk")
        self.private_ip = inst.private_ip
        self.spot = (inst.lifecycle == "spot")
        self.instance_type = inst.instance_type
        self.az = inst.availability_zone or (region + "a")
        self.status = "booting"  # booting, running, down
        self.init = None
        self.imds_front = None
        self.mocks = []  # live mock processes; the last is current
        self.mock_config = None
        self.notice = None  # {"action", "time", "epoch"}
        self.rebalance = None
        self.kill_at = None  # epoch of a pending spot interruption
        self.hard_kill_at = None  # monotonic deadline after a graceful shutdown started
        self.down_reason = None
        self.boots = 0
        self.host_key_pub = None
        self.ssh_host = None
        self.ssh_port = None
        self.known_hosts = None
        self.volumes = {}  # volume id -> {"device", "loop", "file", "size_gib"}: EBS volumes attached to this host

    # ---- boot ------------------------------------------------------------------------------------------------

    def boot(self, inst):
        c = self.cloud
        first = not os.path.isdir(self.disk)
        for d in ("root/.ssh", "var/log", "var/lib/simcloud", "etc/ssh", "home"):
            os.makedirs(os.path.join(self.disk, d), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "bin"), exist_ok=True)
        os.chmod(os.path.join(self.disk, "root"), 0o700)
        for stale in ("power.request", "boot-finished"):
            try:
                os.unlink(os.path.join(self.dir, stale))
            except FileNotFoundError:
                pass
        key = os.path.join(self.disk, "etc/ssh/ssh_host_ed25519_key")
        if not os.path.exists(key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@" + self.id, "-f", key],
                           check=True, stdin=subprocess.DEVNULL)
        with open(key + ".pub") as f:
            self.host_key_pub = " ".join(f.read().split()[:2])

        # The address: the instance's private address when it is in 127/8 (a VPC in 127.0.0.0/8), else one of
        # the harness's own (instances launched in a non-loopback subnet never get a non-loopback target).
        try:
            loopback = ipaddress.ip_address(self.private_ip) in ipaddress.ip_network("127.0.0.0/8")
        except ValueError:
            loopback = False
        self.ssh_host = self.private_ip if loopback else c.mapped_address(self.id)
        if self.ssh_port is None:
            self.ssh_port = 22 if (c.root and port_free(self.ssh_host, 22)) else free_port(self.ssh_host)
            if c.root and self.ssh_port != 22:
                # something else holds this address's port 22 (another simulated cloud with the same VPC on this
                # machine?): clients that connect to 22, as Sortie does, reach it instead of this host
                log.warning("%s: port 22 of %s is taken; this host's sshd listens on %d", self.id, self.ssh_host, self.ssh_port)
        elif not port_free(self.ssh_host, self.ssh_port):
            self.ssh_port = free_port(self.ssh_host)
        host_spec = self.ssh_host if self.ssh_port == 22 else "[%s]:%d" % (self.ssh_host, self.ssh_port)
        self.known_hosts = "%s %s" % (host_spec, self.host_key_pub)

        # The key pair's public key, as cloud-init installs it.
        # Inside the namespaces the disk's root/ is /root; plain processes share this machine's home, so the key
        # goes in the VM's folder instead and sessions get HOME=<disk>/home.
        auth = os.path.join(self.disk, "root/.ssh/authorized_keys") if c.ns else os.path.join(self.dir, "authorized_keys")
        pub = c.public_key(self.account, self.region, inst.key_name)
        write_atomic(auth, (pub.strip() + "\n") if pub else "", 0o600)

        user_data = b""
        if inst.user_data:
            raw = inst.user_data
            raw = raw[0] if isinstance(raw, list) else raw
            enc = raw._encoded_string if hasattr(raw, "_encoded_string") else raw
            try:
                user_data = base64.b64decode(enc)
            except (ValueError, TypeError):
                user_data = enc.encode() if isinstance(enc, str) else bytes(enc)
        if first and user_data:
            with open(os.path.join(self.dir, "user-data"), "wb") as f:
                f.write(user_data)

        # The metadata service.
        if self.imds_front is None:
            self.imds_front = ImdsFront(free_port())
        self.notice = None
        self.rebalance = None
        self.kill_at = None
        self.mock_config = self._mock_config(inst, user_data, pub)
        self._start_mock()

        vm_dir_inside = "/run/simcloud" if c.ns else self.dir
        imds = "http://127.0.0.1:%d" % self.imds_front.port
        env = {
            "PATH": "%s/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" % vm_dir_inside,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv4",
            "AWS_ENDPOINT_URL": c.endpoint_url,
            "SIMCLOUD_INSTANCE_ID": self.id,
            "SIMCLOUD_DIR": vm_dir_inside,
            "SIMCLOUD_VM_MARKER": self.dir,
            "LANG": "C.UTF-8",
        }
        if not c.ns:
            env["HOME"] = os.path.join(self.disk, "home")
        self.env = env
        self._write_shims(vm_dir_inside)
        self._write_sshd_config(vm_dir_inside, auth if not c.ns else None, env)
        write_atomic(os.path.join(self.dir, "boot.json"), json.dumps({
            "mode": "ns" if c.ns else "plain",
            "env": env,
            "home": "/root" if c.ns else env["HOME"],
            "grace": c.grace,
            "hostname": "ip-" + self.private_ip.replace(".", "-"),
        }))
        log_f = open(os.path.join(self.dir, "init.log"), "ab")
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        init = [py, "-I", "-S", os.path.join(HERE, "vm_init.py"), self.dir]
        if c.ns:
            init = ["unshare", "--pid", "--fork", "--kill-child", "--uts", "--mount", "--propagation", "private",
                    "--mount-proc"] + init
        proc_env = dict(env)
        proc_env["PATH"] = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        self.init = subprocess.Popen(init, stdin=subprocess.DEVNULL, stdout=log_f, stderr=log_f, env=proc_env,
                                     cwd="/", preexec_fn=_die_with_parent)
        log_f.close()
        self.boots += 1
        self.status = "booting"
        self.down_reason = None
        self.hard_kill_at = None
        log.info("%s: booting (%s:%d, imds %s, %s)", self.id, self.ssh_host, self.ssh_port, imds,
                 "namespaces" if c.ns else "plain processes")

    def _mock_config(self, inst, user_data, pub):
        vpc_cidr = subnet_cidr = ""
        try:
            sn = self.cloud.backend(self.account, self.region).get_subnet(inst.subnet_id)
            subnet_cidr = sn.cidr_block
            vpc_cidr = self.cloud.backend(self.account, self.region).get_vpc(sn.vpc_id).cidr_block
        except Exception:
            pass
        hostname = "ip-%s.ec2.internal" % self.private_ip.replace(".", "-")
        values = {
            "instance-id": self.id,
            "instance-type": self.instance_type,
            "instance-life-cycle": "spot" if self.spot else "on-demand",
            "ami-id": inst.image_id,
            "ami-launch-index": str(getattr(inst, "ami_launch_index", 0)),
            "placement-availability-zone": self.az,
            "placement-region": self.region,
            "local-ipv4": self.private_ip,
            "local-hostname": hostname,
            "hostname": hostname,
            "mac-local-ipv4s": self.private_ip,
            "mac-local-hostname": hostname,
            "mac-subnet-id": inst.subnet_id or "",
            "mac-vpc-id": getattr(inst, "vpc_id", None) or "",
            "mac-subnet-ipv4-cidr-block": subnet_cidr,
            "mac-vpc-ipv4-cidr-block": vpc_cidr,
            "mac-vpc-ipv4-cidr-blocks": vpc_cidr,
            "mac-owner-id": self.account,
            "reservation-id": getattr(self.cloud.reservation_of(self.account, self.region, self.id), "id", ""),
            "security-groups": "\n".join(g.name for g in (inst.security_groups or [])),
            "mac-security-group-ids": "\n".join(g.id for g in (inst.security_groups or [])),
            "mac-security-groups": "\n".join(g.name for g in (inst.security_groups or [])),
            "public-key": (pub or "").strip(),
            "public-ipv4": inst.public_ip or "",
            "mac-public-ipv4s": inst.public_ip or "",
            "services-domain": "amazonaws.com",
        }
        paths = {}
        iam = self.cloud.instance_role(self.account, self.region, self.id)
        if iam:
            # As AWS: iam/info names the profile, iam/security-credentials/ lists the role, and .../ROLE serves
            # temporary credentials for it (moto takes any keys; these are made up, never the caller's)
            profile, role = iam
            now = time.time()
            values["iam-info"] = {"Code": "Success", "LastUpdated": rfc3339(now), "InstanceProfileArn": profile.arn,
                                  "InstanceProfileId": profile.id}
            values["iam-security-credentials-role"] = role
            values["iam-security-credentials"] = {
                "Code": "Success", "LastUpdated": rfc3339(now), "Type": "AWS-HMAC",
                "AccessKeyId": "ASIA" + uuid.uuid4().hex[:16].upper(), "SecretAccessKey": uuid.uuid4().hex + uuid.uuid4().hex[:8],
                "Token": base64.b64encode(os.urandom(48)).decode(), "Expiration": rfc3339(now + 6 * 3600)}
            paths["iam-security-credentials"] = "/latest/meta-data/iam/security-credentials/" + role
        else:
            # An instance without a profile has no iam/ metadata (the mock would serve its sample role otherwise)
            paths.update({"iam-info": "/simcloud-no-profile/info",
                          "iam-security-credentials-role": "/simcloud-no-profile/security-credentials",
                          "iam-security-credentials": "/simcloud-no-profile/security-credentials/none"})
        return {
            "imdsv2": True,
            "mock-ip-count": -1,
            "metadata": {"paths": paths, "values": values},
            "dynamic": {"values": {"instance-identity-document": {
                "accountId": self.account, "architecture": getattr(inst, "architecture", "x86_64"),
                "availabilityZone": self.az, "billingProducts": None, "devpayProductCodes": None,
                "marketplaceProductCodes": None, "imageId": inst.image_id, "instanceId": self.id,
                "instanceType": self.instance_type, "kernelId": None, "pendingTime": rfc3339(time.time()),
                "privateIp": self.private_ip, "ramdiskId": None, "region": self.region, "version": "2017-09-30"}}},
            "userdata": {"values": {"userdata": base64.b64encode(user_data).decode()}},
            "spot": {"action": "terminate"},
        }

    def _start_mock(self):
        """A new mock process for the current notice state, then the front switches to it (on the watcher)."""
        cfg = json.loads(json.dumps(self.mock_config))
        cfg["mock-trigger-time"] = LONG_AGO if self.notice else FAR_FUTURE
        if self.notice:
            cfg["spot"]["action"] = self.notice["action"]
            cfg["spot"]["time"] = self.notice["time"]
        cfg["rebalance-trigger-time"] = LONG_AGO if self.rebalance else FAR_FUTURE
        if self.rebalance:
            cfg["spot"]["rebalance-rec-time"] = self.rebalance
        mdir = os.path.join(self.dir, "imds")
        os.makedirs(mdir, exist_ok=True)
        path = os.path.join(mdir, "config-%d.json" % time.monotonic_ns())
        write_atomic(path, json.dumps(cfg, indent=1))
        port = free_port()
        log_f = open(os.path.join(mdir, "mock.log"), "ab")
        env = {"PATH": os.environ.get("PATH", ""), "HOME": mdir}  # the mock reads $HOME/aemm-config.json otherwise
        p = subprocess.Popen([self.cloud.aemm, "spot", "-c", path, "-n", "127.0.0.1", "-p", str(port)],
                             stdin=subprocess.DEVNULL, stdout=log_f, stderr=log_f, env=env, cwd=mdir,
                             preexec_fn=_die_with_parent)
        log_f.close()
        deadline = time.monotonic() + 15
        while not listening("127.0.0.1", port):
            if p.poll() is not None:
                raise RuntimeError("%s: metadata mock exited with %s (see %s/mock.log)" % (self.id, p.returncode, mdir))
            if time.monotonic() > deadline:
                p.kill()
                raise RuntimeError("%s: metadata mock did not listen on %d" % (self.id, port))
            time.sleep(0.01)
        old = list(self.mocks)
        self.mocks = [p]
        self.imds_front.switch(port)
        for o in old:  # requests in flight on the old one get a moment to finish
            self.cloud.later(1.0, lambda o=o: (o.kill(), o.wait()))

    def _write_shims(self, vm_dir_inside):
        request = os.path.join(vm_dir_inside, "power.request")
        shim = """#!/bin/sh
# simcloud: this VM's poweroff/shutdown/halt/reboot (and systemctl poweroff|halt|reboot). The harness sees the
# request and powers the instance off (terminated or stopped per its shutdown behaviour) or reboots it.
name=$(basename "$0"); act=poweroff; delay=0
case "$name" in
  reboot) act=reboot ;;
  halt) act=halt ;;
  systemctl)
    case "$1" in
      poweroff|halt|reboot) act=$1 ;;
      *) echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2; exit 1 ;;
    esac ;;
  shutdown)
    delay=60
    for a in "$@"; do
      case "$a" in
        -r|--reboot) act=reboot ;;
        -H|--halt) act=halt ;;
        -c) echo "simcloud: shutdown -c is not supported" >&2; exit 1 ;;
        now|+0) delay=0 ;;
        +[0-9]*) delay=$(( ${a#+} * 60 )) ;;
      esac
    done ;;
esac
if [ "$delay" -gt 0 ]; then
  echo "Shutdown scheduled in $delay s (simcloud)" >&2
  ( sleep "$delay"; echo "$act" > "%(request)s" ) </dev/null >/dev/null 2>&1 &
  exit 0
fi
echo "$act" > "%(request)s"
# The machine goes down now; like the real command, this does not come back while it does.
i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
exit 0
""" % {"request": request}
        b = os.path.join(self.dir, "bin")
        write_atomic(os.path.join(b, "power-shim"), shim, 0o755)
        for name in ("poweroff", "shutdown", "halt", "reboot"):
            link = os.path.join(b, name)
            if not os.path.lexists(link):
                os.symlink("power-shim", link)

    def _write_sshd_config(self, vm_dir_inside, auth_file, env):
        user = self.cloud.ssh_user
        lines = [
            "Port %d" % self.ssh_port,
            "ListenAddress %s" % self.ssh_host,
            "HostKey %s/disk/etc/ssh/ssh_host_ed25519_key" % vm_dir_inside,
            "AuthorizedKeysFile %s" % (auth_file or ".ssh/authorized_keys"),
            "PidFile %s/sshd.pid" % vm_dir_inside,
            "StrictModes no",
            "UsePAM no",
            "UseDNS no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "AllowUsers %s" % user,
            "AllowTcpForwarding yes",
            "Subsystem sftp internal-sftp",
            "MaxStartups 100:30:200",
            "SetEnv " + " ".join("%s=%s" % kv for kv in env.items()),
            "LogLevel VERBOSE",
            "",
        ]
        write_atomic(os.path.join(self.dir, "sshd_config"), "\n".join(lines))

    # ---- life ------------------------------------------------------------------------------------------------

    def poll(self):
        """Called on the watcher each tick: notices sshd listening, the init exiting, power requests."""
        if self.status == "booting" and listening(self.ssh_host, self.ssh_port, 0.05):
            self.status = "running"
            log.info("%s: running (ssh %s)", self.id, self.known_hosts.split()[0])
            return True
        if self.status in ("booting", "running") and self.init.poll() is not None:
            return "exited"
        return False

    def power_request(self):
        p = os.path.join(self.dir, "power.request")
        try:
            with open(p) as f:
                act = f.read().strip() or "poweroff"
            os.unlink(p)
            return act
        except FileNotFoundError:
            return None

    def userdata_status(self):
        try:
            with open(os.path.join(self.dir, "boot-finished")) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def shutdown(self, reason, hard):
        """Takes the host down: hard = SIGKILL now; else SIGTERM to init (which SIGTERMs the VM) and SIGKILL
        after the grace period (finished by finish_if_due)."""
        if self.status == "down":
            return
        self.down_reason = reason
        if hard or self.init is None or self.init.poll() is not None:
            self._kill_all()
        else:
            # As root: SIGTERM to the namespace's init, which SIGTERMs the VM. Plain: to every marked process.
            targets = _children(self.init.pid) if self.cloud.ns else vm_processes(self.dir, self.init.pid)
            for pid in targets:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            self.status = "stopping"
            self.hard_kill_at = time.monotonic() + self.cloud.grace + 0.5
            return
        log.info("%s: host down (%s)", self.id, reason)

    def finish_if_due(self):
        if self.status == "stopping" and (self.init.poll() is not None or time.monotonic() >= self.hard_kill_at):
            self._kill_all()
            log.info("%s: host down (%s)", self.id, self.down_reason)
            return True
        return False

    def _kill_all(self):
        session = self.init.pid if self.init is not None else None
        # Plain processes: every one of the VM is found while the process tree is still whole.
        first = [] if self.cloud.ns else vm_processes(self.dir, session)
        if self.init is not None and self.init.poll() is None:
            try:
                os.killpg(self.init.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for child in _children(self.init.pid):
                try:
                    os.kill(child, signal.SIGKILL)  # the namespace's init: the kernel kills the rest
                except ProcessLookupError:
                    pass
        for pid in first:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.init is not None:
            self.init.kill()
            self.init.wait()
        deadline = time.monotonic() + 10
        while True:
            left = [p for p in vm_processes(self.dir, session) if p != os.getpid()]
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                log.error("%s: processes survive SIGKILL: %s", self.id, left)
                break
            time.sleep(0.01)
        for p in self.mocks:
            p.kill()
            p.wait()
        self.mocks = []
        self._release_volumes()  # the VM's mount namespace died with its processes: the loop devices are free
        self.status = "down"
        self.kill_at = None

    # ---- EBS volumes: a loop device over a sparse file per volume, at the requested device name ------------------

    def _ns_pid(self):
        """The VM's PID 1 (vm_init, unshare's child): its mount namespace is the VM's."""
        kids = _children(self.init.pid) if self.init is not None else []
        return kids[0] if kids else None

    def sync_volumes(self, attached):
        """Makes the host's block devices match moto's attachments {volume id: (device, size GiB)}: a new attachment
        becomes a loop device over the volume's file, a node at the device name in the VM's own /dev; a detached one
        goes (unmounted in the VM first); a grown one grows its file and loop device. True when something changed."""
        if self.status != "running":  # sshd listens: vm_init has made the VM's mounts (its /run among them)
            return False
        changed = False
        for vid in [v for v in self.volumes if v not in attached]:
            self.detach_volume(vid, "detached through the API")
            changed = True
        for vid, (device, size) in attached.items():
            have = self.volumes.get(vid)
            if have is None:
                if vid in self.cloud.volume_refused.get(self.id, set()):
                    continue
                try:
                    self.attach_volume(vid, device, size)
                except Exception as e:
                    # said once: the VM runs without the device (no loop device free, no namespaces, ...)
                    self.cloud.volume_refused.setdefault(self.id, set()).add(vid)
                    log.error("%s: volume %s cannot be given to the host (%s): the VM has no %s", self.id, vid, e, device)
                changed = True
            elif size > have["size_gib"]:
                self.cloud.volume_files.ensure(vid, size)
                subprocess.run(["losetup", "-c", have["loop"]], check=True, stdin=subprocess.DEVNULL, timeout=30)
                have["size_gib"] = size
                log.info("%s: volume %s grown to %d GiB (%s)", self.id, vid, size, have["loop"])
                changed = True
        return changed

    def attach_volume(self, vid, device, size):
        if not self.cloud.ns:
            raise RuntimeError("block devices need root and namespaces (this VM is plain processes)")
        pid = self._ns_pid()
        if pid is None:
            raise RuntimeError("the VM's init is not up")
        t0 = time.monotonic()
        path = self.cloud.volume_files.ensure(vid, size)
        loop = subprocess.run(["losetup", "-f", "--show", path], check=True, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=30).stdout.strip()
        log.info("%s: %s over %s (%.2f s)", self.id, loop, path, time.monotonic() - t0)
        st = os.stat(loop)
        try:
            subprocess.run(["nsenter", "-t", str(pid), "-m", "-p", "--", "sh", "-c", VM_DEV_SCRIPT, "simcloud-dev", device,
                            str(os.major(st.st_rdev)), str(os.minor(st.st_rdev))], check=True, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=30)
        except subprocess.CalledProcessError as e:
            subprocess.run(["losetup", "-d", loop], stdin=subprocess.DEVNULL, timeout=30)
            raise RuntimeError("cannot make %s in the VM: %s" % (device, (e.stderr or "").strip()))
        self.volumes[vid] = {"device": device, "loop": loop, "file": path, "size_gib": size}
        log.info("%s: volume %s attached as %s (%s over %s, %.2f s)", self.id, vid, device, loop, path, time.monotonic() - t0)

    def detach_volume(self, vid, reason):
        v = self.volumes.pop(vid, None)
        if v is None:
            return
        pid = self._ns_pid()
        if pid is not None:
            subprocess.run(["nsenter", "-t", str(pid), "-m", "-p", "--", "sh", "-c", VM_UNDEV_SCRIPT, "simcloud-undev", v["device"], v["loop"]], stdin=subprocess.DEVNULL, timeout=30,
                           capture_output=True)
        subprocess.run(["losetup", "-d", v["loop"]], capture_output=True, stdin=subprocess.DEVNULL, timeout=30)  # busy: cleared when its last user goes
        log.info("%s: volume %s (%s) gone from the host: %s", self.id, vid, v["device"], reason)

    def _release_volumes(self):
        for vid in list(self.volumes):
            v = self.volumes.pop(vid)
            subprocess.run(["losetup", "-d", v["loop"]], capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
            log.info("%s: volume %s released (%s)", self.id, vid, v["loop"])

    def describe(self, moto_state):
        return {
            "instance_id": self.id,
            "account": self.account,
            "region": self.region,
            "availability_zone": self.az,
            "instance_type": self.instance_type,
            "spot": self.spot,
            "state": moto_state,
            "vm": self.status,
            "boots": self.boots,
            "private_ip": self.private_ip,
            "ssh_host": self.ssh_host,
            "ssh_port": self.ssh_port,
            "ssh_user": self.cloud.ssh_user,
            "host_key": self.host_key_pub,
            "known_hosts": self.known_hosts,
            "imds_endpoint": "http://127.0.0.1:%d" % self.imds_front.port if self.imds_front else None,
            "vm_dir": self.dir,
            "disk_dir": self.disk,
            "cloud_init_output": os.path.join(self.disk, "var/log/cloud-init-output.log"),
            "user_data_status": self.userdata_status(),
            "spot_notice": ({"action": self.notice["action"], "time": self.notice["time"]} if self.notice else None),
            "rebalance_recommendation": self.rebalance,
            "down_reason": self.down_reason,
            "volumes": [{"volume_id": vid, "device": v["device"], "loop": v["loop"], "file": v["file"], "size_gib": v["size_gib"]}
                        for vid, v in sorted(self.volumes.items())],
        }


# Run in a VM's mount and PID namespaces (nsenter: its /proc/self is the VM's proc) to give it a block device: the first time, the VM gets a /dev of its own (a
# tmpfs with this machine's character devices, pts and shm bound in, no block device of this machine's), so that
# each VM has only its own volumes and nothing is created in this machine's /dev. Then: mknod DEVICE b MAJOR MINOR.
VM_DEV_SCRIPT = r'''set -e
if [ ! -e /run/simcloud-own-dev ]; then
  mkdir -p /run/simcloud-hostdev
  mount --rbind /dev /run/simcloud-hostdev
  mount -t tmpfs -o mode=755 simcloud-dev /dev
  for n in null zero full random urandom tty ptmx; do
    if [ -e "/run/simcloud-hostdev/$n" ]; then touch "/dev/$n"; mount --bind "/run/simcloud-hostdev/$n" "/dev/$n"; fi
  done
  for d in pts shm mqueue; do
    if [ -d "/run/simcloud-hostdev/$d" ]; then mkdir -p "/dev/$d"; mount --rbind "/run/simcloud-hostdev/$d" "/dev/$d"; fi
  done
  ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
  umount -l /run/simcloud-hostdev
  touch /run/simcloud-own-dev
fi
rm -f "$1"
mknod -m 660 "$1" b "$2" "$3"
'''
# Its undoing: whatever the VM mounted from the device is unmounted (lazily: a process may be in it), the node goes.
VM_UNDEV_SCRIPT = r'''for m in $(awk -v a="$1" -v b="$2" '$1==a || $1==b {print $2}' /proc/self/mounts); do umount -l "$m"; done
rm -f "$1"
'''


class VolumeFiles:
    """The data of every EBS volume: a sparse file per volume under DIR/volumes, kept across instances (and
    across simcloud runs with the same state dir), grown when moto's volume is."""

    def __init__(self, state_dir):
        self.dir = os.path.join(state_dir, "volumes")
        os.makedirs(self.dir, exist_ok=True)

    def ensure(self, vid, size_gib):
        path = os.path.join(self.dir, vid + ".img")
        want = int(size_gib) << 30
        with open(path, "ab") as f:
            if f.tell() < want:
                f.truncate(want)
        return path


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


# --------------------------------------------------------------------------------------------------------------
# In front of moto: injected faults (capacity, quota, throttling: moto never says them), the Price List API (moto
# lacks it) and spot prices (moto's are one constant), and a log of the EC2 calls made
# --------------------------------------------------------------------------------------------------------------

# AWS's HTTP status and message for the error codes a test injects (the message may be given instead).
FAULT_DEFAULTS = {
    "InsufficientInstanceCapacity": (500, "We currently do not have sufficient {InstanceType} capacity in the "
                                          "Availability Zone you requested ({zone}). Our system will be working on "
                                          "provisioning additional capacity."),
    "SpotCapacityNotAvailable": (500, "There is no Spot capacity available that matches your request."),
    "InstanceLimitExceeded": (400, "You have requested more instances than your current instance limit allows for "
                                   "the specified instance type. Please visit http://aws.amazon.com/contact-us/"
                                   "ec2-request to request an adjustment to this limit."),
    "VcpuLimitExceeded": (400, "You have requested more vCPU capacity than your current vCPU limit allows."),
    "MaxSpotInstanceCountExceeded": (400, "Max spot instance count exceeded"),
    "RequestLimitExceeded": (503, "Request limit exceeded."),
    "Unsupported": (400, "Your requested instance type ({InstanceType}) is not supported in your requested "
                         "Availability Zone ({zone})."),
}


class Faults:
    """Injected faults: each {"id", "action", "match", "error", "status", "message", "times", "hits"}. A request
    matches a fault when its action is the fault's and every key of "match" equals the request's value (its query
    parameter, or the derived "zone", "market" (spot|on-demand), "region"). "times" null: every matching request.
    The action "Boot" is not an API call: a matching instance runs in moto but its host never boots (no sshd)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.faults = []
        self.next_id = 1
        self.requests = []  # {"action", "region", "zone", "market", "InstanceType", "error"}

    def add(self, body):
        if not isinstance(body, dict) or not body.get("action"):
            raise ValueError('a fault needs "action" (e.g. RunInstances, or Boot) and "error" (e.g. '
                             'InsufficientInstanceCapacity)')
        action = body["action"]
        error = body.get("error")
        if action != "Boot" and not error:
            raise ValueError('a fault of %s needs "error": one of %s or any AWS error code' %
                             (action, ", ".join(sorted(FAULT_DEFAULTS))))
        match = body.get("match") or {}
        if not isinstance(match, dict):
            raise ValueError('"match" must be an object like {"InstanceType": "g5.xlarge", "zone": "us-east-1a"}')
        times = body.get("times")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise ValueError('"times" must be a positive whole number (or left out: every matching request)')
        status, message = FAULT_DEFAULTS.get(error, (400, error or ""))
        with self.lock:
            f = {"id": self.next_id, "action": action, "match": {k: str(v) for k, v in match.items()},
                 "error": error, "status": int(body.get("status", status)), "message": body.get("message", message),
                 "times": times, "hits": 0}
            self.next_id += 1
            self.faults.append(f)
            return dict(f)

    def clear(self):
        with self.lock:
            self.faults = []
            self.requests = []

    def list(self):
        with self.lock:
            return [dict(f) for f in self.faults]

    def take(self, action, fields):
        """The first live fault matching this request, its hit counted; None when none."""
        with self.lock:
            for f in self.faults:
                if f["action"] != action or (f["times"] is not None and f["hits"] >= f["times"]):
                    continue
                if all(fields.get(k) == v for k, v in f["match"].items()):
                    f["hits"] += 1
                    return dict(f)
        return None

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)

    def logged(self, action=None):
        with self.lock:
            return [dict(r) for r in self.requests if action is None or r["action"] == action]


def _region_of(environ):
    """The region a SigV4 request was signed for (Credential=KEY/DATE/REGION/SERVICE/aws4_request)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    i = auth.find("Credential=")
    if i >= 0:
        parts = auth[i + len("Credential="):].split(",")[0].split("/")
        if len(parts) >= 3:
            return parts[2]
    return "us-east-1"


class Interceptor:
    """WSGI middleware in front of moto's app."""

    def __init__(self, app, cloud):
        self.app = app
        self.cloud = cloud

    def __call__(self, environ, start_response):
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            n = 0
        body = environ["wsgi.input"].read(n) if n > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AWSPriceListService."):
            return self.pricing(target.split(".", 1)[1], body, start_response)
        if target.startswith("ServiceQuotasV20190624."):
            return self.service_quotas(target.split(".", 1)[1], _region_of(environ), body, start_response)
        ctype = environ.get("CONTENT_TYPE", "")
        if environ.get("REQUEST_METHOD") == "POST" and "x-www-form-urlencoded" in ctype and b"Action=" in body:
            params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
            action = params.get("Action")
            region = _region_of(environ)
            fields = dict(params)
            fields["region"] = region
            if action == "RunInstances":
                fields["zone"] = params.get("Placement.AvailabilityZone") or self.cloud.subnet_zone(
                    region, params.get("SubnetId")) or ""
                fields["market"] = "spot" if params.get("InstanceMarketOptions.MarketType") == "spot" else "on-demand"
            fault = self.cloud.faults.take(action, fields)
            answered = None
            if fault:  # the code AWS answers (a spot capacity shortage is InsufficientInstanceCapacity too)
                answered = "InsufficientInstanceCapacity" if fault["error"] == "SpotCapacityNotAvailable" else fault["error"]
            entry = {"action": action, "region": region, "zone": fields.get("zone"), "market": fields.get("market"),
                     "InstanceType": params.get("InstanceType"), "error": answered}
            self.cloud.faults.record(entry)
            if fault:
                code = answered
                message = fault["message"]
                try:
                    message = message.format(**{k: v for k, v in fields.items() if "." not in k})
                except (KeyError, IndexError, ValueError):
                    pass
                log.info("fault %d: %s answered %s (%s)", fault["id"], action, code, fields.get("zone"))
                return self.ec2_error(start_response, fault["status"], code, message)
            if action == "AttachVolume":
                refusal = self.attach_refusal(region, params)
                if refusal:
                    log.info("AttachVolume %s to %s refused: %s", params.get("VolumeId"), params.get("InstanceId"), refusal[0])
                    return self.ec2_error(start_response, 400, refusal[0], refusal[1])
            if action == "DescribeSpotPriceHistory" and self.cloud.spot_prices.get(region):
                return self.spot_history(region, params, start_response)
            if action == "RunInstances":
                with self.cloud.launching:
                    return list(self.app(environ, start_response))
        return self.app(environ, start_response)

    def attach_refusal(self, region, params):
        """AWS's refusals that moto lacks (it attaches an attached volume again, across zones): (code, message) or None."""
        vid, iid = params.get("VolumeId"), params.get("InstanceId")
        vol = self.cloud.find_volume(region, vid)
        inst = self.cloud.find_instance(region, iid)
        if vol is None or inst is None:
            return None  # moto's own error
        if vol.attachment is not None:
            return ("VolumeInUse", "%s is already attached to an instance" % vid)
        if inst._state.name not in ("running", "stopped"):
            return ("IncorrectState", "Instance '%s' is not 'running'." % iid)
        zone = vol.zone.name if vol.zone else None
        if zone and inst.availability_zone and zone != inst.availability_zone:
            return ("InvalidVolume.ZoneMismatch", "The volume '%s' is not in the same availability zone as instance '%s'" % (vid, iid))
        return None

    @staticmethod
    def _send(start_response, status, ctype, data):
        reasons = {200: "OK", 400: "Bad Request", 500: "Internal Server Error", 503: "Service Unavailable"}
        start_response("%d %s" % (status, reasons.get(status, "Error")),
                       [("Content-Type", ctype), ("Content-Length", str(len(data)))])
        return [data]

    def ec2_error(self, start_response, status, code, message):
        """EC2's own error document (the query protocol's Response/Errors/Error)."""
        from xml.sax.saxutils import escape
        data = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code><Message>%s'
                '</Message></Error></Errors><RequestID>%s</RequestID></Response>' %
                (escape(code), escape(message), _request_id())).encode()
        return self._send(start_response, status, "text/xml;charset=UTF-8", data)

    def spot_history(self, region, params, start_response):
        from xml.sax.saxutils import escape
        types = {v for k, v in params.items() if k.startswith("InstanceType.")}
        zones = set()
        for k, v in params.items():  # Filter.N.Name=availability-zone, Filter.N.Value.M=...
            if k.startswith("Filter.") and k.endswith(".Name") and v == "availability-zone":
                prefix = k[:-len("Name")] + "Value."
                zones |= {val for kk, val in params.items() if kk.startswith(prefix)}
        items = []
        for p in self.cloud.spot_prices[region]:
            if (types and p["InstanceType"] not in types) or (zones and p["AvailabilityZone"] not in zones):
                continue
            items.append("<item><instanceType>%s</instanceType><productDescription>%s</productDescription>"
                         "<spotPrice>%s</spotPrice><timestamp>%s</timestamp><availabilityZone>%s</availabilityZone>"
                         "</item>" % (escape(p["InstanceType"]), escape(p.get("ProductDescription", "Linux/UNIX")),
                                      escape(str(p["SpotPrice"])), escape(p.get("Timestamp") or rfc3339(time.time())),
                                      escape(p["AvailabilityZone"])))
        data = ('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws'
                '.com/doc/2016-11-15/"><requestId>%s</requestId><spotPriceHistorySet>%s</spotPriceHistorySet>'
                '<nextToken></nextToken></DescribeSpotPriceHistoryResponse>' % (_request_id(), "".join(items))).encode()
        return self._send(start_response, 200, "text/xml;charset=UTF-8", data)

    def service_quotas(self, op, region, body, start_response):
        """Service Quotas' GetServiceQuota (the applied values a test set with POST /quotas) and
        GetAWSDefaultServiceQuota (its "defaults"), JSON 1.1 as AWS answers them; NoSuchResourceException (400) for a
        quota with no value, as AWS says for one never applied. moto's Service Quotas knows only VPC quotas."""
        ctype = "application/x-amz-json-1.1"
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = {}
        table = {"GetServiceQuota": "applied", "GetAWSDefaultServiceQuota": "defaults"}.get(op)
        if table is None:
            data = json.dumps({"__type": "InvalidParameterException",
                               "message": "simcloud serves only GetServiceQuota and GetAWSDefaultServiceQuota"}).encode()
            return self._send(start_response, 400, ctype, data)
        fault = self.cloud.faults.take(op, {"QuotaCode": req.get("QuotaCode", ""), "region": region})
        self.cloud.faults.record({"action": op, "region": region, "zone": None, "market": None, "InstanceType": None,
                                  "error": fault["error"] if fault else None})
        if fault:
            data = json.dumps({"__type": fault["error"], "message": fault["message"]}).encode()
            return self._send(start_response, fault["status"], ctype, data)
        key = (region, req.get("ServiceCode"), req.get("QuotaCode"))
        q = self.cloud.quotas[table].get(key)
        if q is None:
            data = json.dumps({"__type": "NoSuchResourceException",
                               "message": "The request failed because the specified service quota does not exist."}).encode()
            return self._send(start_response, 400, ctype, data)
        return self._send(start_response, 200, ctype, json.dumps({"Quota": _quota_document("123456789012", region, q)}).encode())

    def pricing(self, op, body, start_response):
        """The Price List API's GetProducts (JSON 1.1 protocol), from the products a test loaded (POST /pricing):
        TERM_MATCH filters on the product's attributes, pages of MaxResults (default 100) with a NextToken."""
        ctype = "application/x-amz-json-1.1"
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = {}
        if op != "GetProducts":
            data = json.dumps({"__type": "InvalidParameterException",
                               "message": "simcloud serves only GetProducts of the Price List API"}).encode()
            return self._send(start_response, 400, ctype, data)
        fault = self.cloud.faults.take("GetProducts", {"ServiceCode": req.get("ServiceCode", "")})
        self.cloud.faults.record({"action": "GetProducts", "region": None, "zone": None, "market": None,
                                  "InstanceType": None, "error": fault["error"] if fault else None})
        if fault:
            data = json.dumps({"__type": fault["error"], "message": fault["message"]}).encode()
            return self._send(start_response, fault["status"], ctype, data)
        out = []
        for text in self.cloud.products:
            p = json.loads(text)
            if req.get("ServiceCode") and p.get("serviceCode") != req["ServiceCode"]:
                continue
            attrs = p.get("product", {}).get("attributes", {})
            if all(attrs.get(f.get("Field")) == f.get("Value") for f in req.get("Filters", [])):
                out.append(text)
        start = int(req.get("NextToken") or 0)
        size = int(req.get("MaxResults") or 100)
        page = out[start:start + size]
        answer = {"FormatVersion": "aws_v1", "PriceList": page}
        if start + size < len(out):
            answer["NextToken"] = str(start + size)
        return self._send(start_response, 200, ctype, json.dumps(answer).encode())


def _quota_document(account, region, q):
    """A quota as Service Quotas' GetServiceQuota and GetAWSDefaultServiceQuota answer it (its ServiceQuota shape)."""
    service, code = q["ServiceCode"], q["QuotaCode"]
    return {"ServiceCode": service, "ServiceName": q.get("ServiceName", "Amazon Elastic Compute Cloud (Amazon EC2)"),
            "QuotaArn": "arn:aws:servicequotas:%s:%s:%s/%s" % (region, account, service, code), "QuotaCode": code,
            "QuotaName": q.get("QuotaName", code), "Value": float(q["Value"]), "Unit": "None",
            "Adjustable": q.get("Adjustable", True), "GlobalQuota": False,
            "UsageMetric": {"MetricNamespace": "AWS/Usage", "MetricName": "ResourceCount",
                            "MetricDimensions": {"Class": "Standard/OnDemand", "Resource": "vCPU", "Service": "EC2",
                                                 "Type": "Resource"}, "MetricStatisticRecommendation": "Maximum"}}


def _request_id():
    import uuid
    return str(uuid.uuid4())


# --------------------------------------------------------------------------------------------------------------
# The cloud: moto, the watcher that reconciles VMs with moto's instances, the control API
# --------------------------------------------------------------------------------------------------------------

class Cloud:
    def __init__(self, args):
        self.args = args
        self.state_dir = os.path.abspath(args.state_dir)
        os.makedirs(os.path.join(self.state_dir, "vms"), exist_ok=True)
        self.root = os.geteuid() == 0
        self.ns = self.root and shutil.which("unshare") is not None and not args.no_namespaces
        self.grace = args.shutdown_grace
        self.ssh_user = "root" if self.root else (os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name)
        self.aemm = args.aemm or os.path.join(CACHE, "bin", "ec2-metadata-mock")
        if not os.access(self.aemm, os.X_OK):
            raise SystemExit("simcloud: %s is missing: run testkit/simcloud/setup.sh" % self.aemm)
        self.vms = {}
        self.mapped = {}
        self.commands = queue.Queue()
        self.timers = []
        self.cond = threading.Condition()
        self.stopping = False
        self.state_version = 0
        self.last_state = None
        self.moto_states = {}
        self.faults = Faults()
        # held by a RunInstances call (moto associates its instance profile after creating it) and by the watcher
        # while it reads the instances: a VM's metadata is made with its instance profile, never before it is set
        self.launching = threading.Lock()
        self.products = []  # Price List products (JSON text), served by GetProducts
        self.spot_prices = {}  # region -> [{"InstanceType", "AvailabilityZone", "SpotPrice"}]
        self.volume_files = VolumeFiles(self.state_dir)
        self.volume_refused = {}  # instance id -> volume ids its host could not be given (said once)
        self.quotas = {"applied": {}, "defaults": {}}  # (region, service, code) -> quota, set with POST /quotas

    # ---- moto ------------------------------------------------------------------------------------------------

    def start_moto(self):
        from moto.server import ThreadedMotoServer
        from moto.backends import get_backend
        cloud = self

        class Server(ThreadedMotoServer):
            """moto's threaded server with the interceptor in front of its app."""

            def _server_entry(self):
                from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
                from moto.moto_server.threaded_moto_server import MotoRequestHandler
                from werkzeug.serving import make_server
                app = Interceptor(DomainDispatcherApplication(create_backend_app), cloud)
                self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
                self._server_ready_event.set()
                self._server.serve_forever()

        self.moto = Server(ip_address=self.args.host, port=self.args.moto_port, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.endpoint_url = "http://%s:%d" % (host, port)
        self.ec2 = get_backend("ec2")
        self.key_backends = self.ec2  # key pairs live in the EC2 backend
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def backend(self, account, region):
        return dict.__getitem__(dict.__getitem__(self.ec2, account), region)

    def instances(self):
        """(account, region, instance) for every instance moto knows, in every account and region touched."""
        for _ in range(5):
            try:
                out = []
                for account, regions in list(dict.items(self.ec2)):
                    for region, be in list(dict.items(regions)):
                        for r in list(be.reservations.values()):
                            for inst in list(r.instances):
                                out.append((account, region, inst))
                return out
            except RuntimeError:  # changed while we looked: look again
                continue
        return []

    def subnet_zone(self, region, subnet_id):
        """The availability zone of a subnet, in whichever account has it; None when none has."""
        if not subnet_id:
            return None
        for account, regions in list(dict.items(self.ec2)):
            be = dict.get(regions, region)
            if be is None:
                continue
            for zone_subnets in list(be.subnets.values()):
                sn = zone_subnets.get(subnet_id)
                if sn is not None:
                    return sn.availability_zone
        return None

    def attachments(self):
        """{instance id: {volume id: (device, size GiB)}} of every attached volume moto knows."""
        out = {}
        for _ in range(5):
            try:
                for account, regions in list(dict.items(self.ec2)):
                    for region, be in list(dict.items(regions)):
                        for vol in list(be.volumes.values()):
                            a = vol.attachment
                            # the root volume moto makes at RunInstances is the VM's own file system already
                            if a is not None and a.instance is not None and a.device != getattr(
                                    a.instance, "root_device_name", "/dev/sda1"):
                                out.setdefault(a.instance.id, {})[vol.id] = (a.device, int(vol.size))
                return out
            except RuntimeError:  # changed while we looked
                out = {}
        return out

    def find_volume(self, region, vid):
        for account, regions in list(dict.items(self.ec2)):
            be = dict.get(regions, region)
            if be is not None and vid in be.volumes:
                return be.volumes[vid]
        return None

    def find_instance(self, region, iid):
        for account, r, inst in self.instances():
            if r == region and inst.id == iid:
                return inst
        return None
    def instance_role(self, account, region, iid):
        """(instance profile, its first role's name) of an instance launched with IamInstanceProfile, else None."""
        assoc = self.backend(account, region).iam_instance_profile_associations.get(iid)
        profile = getattr(assoc, "iam_instance_profile", None)
        roles = getattr(profile, "roles", None) or []
        if not roles:
            return None
        return profile, roles[0].name

    def reservation_of(self, account, region, iid):
        for r in list(self.backend(account, region).reservations.values()):
            if any(i.id == iid for i in r.instances):
                return r
        return None

    def public_key(self, account, region, key_name):
        if not key_name:
            return None
        kp = self.backend(account, region).key_pairs.get(key_name)
        if not kp or not kp.material_public:
            return None
        pub = kp.material_public
        return (pub.decode() if isinstance(pub, bytes) else pub).strip()

    def mapped_address(self, iid):
        if iid not in self.mapped:
            n = len(self.mapped) + 1
            self.mapped[iid] = "127.254.%d.%d" % (n // 250, n % 250 + 2)
            log.warning("%s: private address is not in 127.0.0.0/8; its host listens on %s instead", iid,
                        self.mapped[iid])
        return self.mapped[iid]

    def _find(self, iid):
        for account, region, inst in self.instances():
            if inst.id == iid:
                return account, region, inst
        return None

    def set_moto_state(self, iid, target, code, message, reason_prefix):
        """Marks an instance terminated or stopped in moto, with AWS's state reason."""
        from moto.ec2.models.instances import StateReason
        found = self._find(iid)
        if not found:
            return
        _, _, inst = found
        if target == "terminated":
            if inst._state.name == "terminated":
                return
            inst.terminate()
        else:
            if inst._state.name in ("stopped", "terminated"):
                return
            inst.stop()
        inst.state_reason = StateReason("%s: %s" % (code, message), code)
        inst._reason = "%s (%s)" % (reason_prefix, datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S GMT"))
        self.moto_states[iid] = inst._state.name

    # ---- the watcher -----------------------------------------------------------------------------------------

    def later(self, delay, fn):
        self.timers.append((time.monotonic() + delay, fn))

    def call(self, fn, timeout=60):
        """Runs fn on the watcher thread (every process is started there: PDEATHSIG follows the thread)."""
        box = {}
        done = threading.Event()
        self.commands.put((fn, box, done))
        if not done.wait(timeout):
            raise TimeoutError("the harness did not answer in %s s" % timeout)
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def watch(self):
        parent = self.args.parent_pid
        last_tick = time.monotonic()
        while not self.stopping:
            try:
                fn, box, done = self.commands.get(timeout=self.args.poll_interval)
                try:
                    box["value"] = fn()
                except Exception as e:  # handed back to the caller
                    box["error"] = e
                done.set()
                # a client polling the control API faster than the poll interval must not starve the reconcile
                if time.monotonic() - last_tick < self.args.poll_interval:
                    continue
            except queue.Empty:
                pass
            last_tick = time.monotonic()
            if parent and os.getppid() != parent:
                log.info("parent %d is gone: shutting down", parent)
                self.stopping = True
                break
            try:
                self.tick()
            except Exception:
                log.error("watcher: %s", traceback.format_exc())
        self.teardown()

    def tick(self):
        now = time.monotonic()
        due = [t for t in self.timers if t[0] <= now]
        self.timers = [t for t in self.timers if t[0] > now]
        for _, fn in due:
            try:
                fn()
            except Exception:
                log.error("timer: %s", traceback.format_exc())

        seen = {}
        with self.launching:
            for account, region, inst in self.instances():
                seen[inst.id] = (account, region, inst)
        changed = False
        for iid, (account, region, inst) in seen.items():
            state = inst._state.name
            if self.moto_states.get(iid) != state:
                self.moto_states[iid] = state
                changed = True
            vm = self.vms.get(iid)
            if state == "running" and vm is None and self.faults.take("Boot", {
                    "InstanceType": inst.instance_type, "zone": inst.availability_zone or "", "region": region,
                    "market": "spot" if inst.lifecycle == "spot" else "on-demand"}):
                vm = self.vms[iid] = Vm(self, inst, account, region)
                vm.status = "unreachable"  # running in moto, no host: sshd never answers
                vm.down_reason = "a Boot fault keeps its host from booting"
                log.info("%s: a Boot fault: its host never boots", iid)
                changed = True
                continue
            if state != "running" and vm is not None and vm.status == "unreachable":
                vm.status = "down"
                changed = True
                continue
            if state == "running" and (vm is None or vm.status == "down"):
                if vm is None:
                    vm = self.vms[iid] = Vm(self, inst, account, region)
                vm.private_ip = inst.private_ip
                try:
                    vm.boot(inst)
                except Exception:
                    log.error("%s: boot failed: %s", iid, traceback.format_exc())
                    vm.down_reason = "boot failed: see simcloud.log"
                    vm._kill_all()
                    self.set_moto_state(iid, "terminated", "Server.InternalError", "Internal error on launch",
                                        "Server initiated")
                changed = True
            elif state != "running" and vm is not None and vm.status in ("booting", "running"):
                vm.shutdown("instance %s through the API" % state, hard=False)
                changed = True
        attachments = self.attachments()
        for iid, vm in list(self.vms.items()):
            if vm.status == "down" and vm.imds_front is not None and self.moto_states.get(iid) == "terminated":
                vm.imds_front.close()  # a terminated instance never comes back
                vm.imds_front = None
                changed = True
            if iid not in seen and vm.status in ("booting", "running"):
                vm.shutdown("instance gone from the API", hard=True)
                changed = True
            if vm.status == "stopping":
                changed |= vm.finish_if_due()
                continue
            if vm.status not in ("booting", "running"):
                continue
            r = vm.poll()
            if r is True:
                changed = True
            act = vm.power_request()
            if act:
                changed = True
                if act == "reboot":
                    log.info("%s: reboot requested from inside", iid)
                    vm.shutdown("rebooted from inside", hard=False)
                    # moto still says running: the reconcile boots it again once it is down.
                else:
                    account, region, inst = seen[iid]
                    behaviour = inst.instance_initiated_shutdown_behavior or "stop"
                    target = "terminated" if (behaviour == "terminate" or vm.spot) else "stopped"
                    log.info("%s: %s from inside: instance %s", iid, act, target)
                    self.set_moto_state(iid, target, "Client.InstanceInitiatedShutdown",
                                        "Instance initiated shutdown", "User initiated")
                    vm.shutdown("%s from inside the instance" % act, hard=False)
                continue
            changed |= vm.sync_volumes(attachments.get(iid, {}))
            if r == "exited":
                log.error("%s: the VM's init exited by itself (see %s/init.log): instance terminated", iid, vm.dir)
                self.set_moto_state(iid, "terminated", "Server.InternalError", "Internal error", "Server initiated")
                vm.shutdown("the VM's init exited", hard=True)
                changed = True
                continue
            if vm.kill_at is not None and time.time() >= vm.kill_at:
                action = vm.notice["action"] if vm.notice else "terminate"
                target = "stopped" if action in ("stop", "hibernate") else "terminated"
                log.info("%s: spot interruption at the notice's time: instance %s", iid, target)
                self.set_moto_state(iid, target, "Server.SpotInstanceTermination", "Spot instance termination",
                                    "Service initiated")
                vm.shutdown("spot interruption (notice time %s)" % vm.notice["time"], hard=True)
                changed = True
        if changed:
            self.publish()

    def publish(self):
        vms = [vm.describe(self.moto_states.get(iid)) for iid, vm in sorted(self.vms.items())]
        state = {"endpoint_url": self.endpoint_url, "vms": vms}
        text = json.dumps(state, indent=1)
        if text != self.last_state:
            self.last_state = text
            write_atomic(os.path.join(self.state_dir, "state.json"), text)
            write_atomic(os.path.join(self.state_dir, "known_hosts"),
                         "".join(vm.known_hosts + "\n" for vm in self.vms.values() if vm.known_hosts))
        with self.cond:
            self.state_version += 1
            self.snapshot = vms
            self.cond.notify_all()

    def teardown(self):
        log.info("tearing down: every VM")
        for vm in self.vms.values():
            vm.shutdown("simcloud shut down", hard=True)
            if vm.status == "stopping":
                vm._kill_all()
            if vm.imds_front:
                vm.imds_front.close()
                vm.imds_front = None
        self.publish()
        for _, fn in self.timers:
            try:
                fn()
            except Exception:
                pass
        try:
            os.unlink(os.path.join(self.state_dir, "ready.json"))
        except FileNotFoundError:
            pass
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    # ---- operations (run on the watcher through call()) ------------------------------------------------------

    def _vm(self, iid):
        vm = self.vms.get(iid)
        if vm is None:
            raise KeyError("no VM for instance %s" % iid)
        return vm

    def interrupt(self, iid, in_seconds=120, action="terminate", force=False):
        vm = self._vm(iid)
        if vm.status not in ("booting", "running"):
            raise ValueError("%s: the VM is %s" % (iid, vm.status))
        if not vm.spot and not force:
            raise ValueError("%s is an on-demand instance: AWS sends spot notices to spot instances only "
                             "(force=true to send one anyway)" % iid)
        if action not in ("terminate", "stop", "hibernate"):
            raise ValueError("action must be terminate, stop or hibernate")
        at = math.ceil(time.time() + float(in_seconds))
        vm.notice = {"action": action, "time": rfc3339(at), "epoch": at}
        vm.kill_at = at
        vm._start_mock()
        self.publish()
        return vm.describe(self.moto_states.get(iid))

    def rebalance(self, iid):
        vm = self._vm(iid)
        vm.rebalance = rfc3339(time.time())
        vm._start_mock()
        self.publish()
        return vm.describe(self.moto_states.get(iid))

    def kill_without_notice(self, iid):
        vm = self._vm(iid)
        if vm.status == "down":
            raise ValueError("%s: the VM is already down" % iid)
        if vm.spot:
            self.set_moto_state(iid, "terminated", "Server.SpotInstanceTermination", "Spot instance termination",
                                "Service initiated")
        else:
            self.set_moto_state(iid, "terminated", "Server.InternalError", "Internal error", "Server initiated")
        vm.shutdown("killed without notice", hard=True)
        self.publish()
        return vm.describe(self.moto_states.get(iid))

    def list(self):
        return [vm.describe(self.moto_states.get(iid)) for iid, vm in sorted(self.vms.items())]


def make_control(cloud):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            log.debug("control: " + fmt, *args)

        def _send(self, code, obj):
            data = (json.dumps(obj, indent=1) + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self):
            n = int(self.headers.get("Content-Length") or 0)
            if not n:
                return {}
            return json.loads(self.rfile.read(n) or b"{}")

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            parts = [p for p in u.path.split("/") if p]
            try:
                if parts == ["health"]:
                    return self._send(200, {"ok": True, "endpoint_url": cloud.endpoint_url})
                if parts == ["vms"]:
                    return self._send(200, cloud.call(cloud.list))
                if parts == ["faults"]:
                    return self._send(200, cloud.faults.list())
                if parts == ["requests"]:
                    q = urllib.parse.parse_qs(u.query)
                    return self._send(200, cloud.faults.logged(q.get("action", [None])[0]))
                if len(parts) == 2 and parts[0] == "vms":
                    vms = {v["instance_id"]: v for v in cloud.call(cloud.list)}
                    if parts[1] not in vms:
                        return self._send(404, {"error": "no VM for instance %s" % parts[1]})
                    return self._send(200, vms[parts[1]])
            except Exception as e:
                return self._send(500, {"error": str(e)})
            self._send(404, {"error": "unknown path %s" % u.path})

        def do_POST(self):
            parts = [p for p in urllib.parse.urlsplit(self.path).path.split("/") if p]
            try:
                body = self._body()
                if parts == ["shutdown"]:
                    self._send(200, {"ok": True})
                    cloud.commands.put((lambda: setattr(cloud, "stopping", True), {}, threading.Event()))
                    return
                if parts == ["wait"]:
                    return self._send(*wait_for(cloud, body))
                if parts == ["faults"]:
                    return self._send(200, cloud.faults.add(body))
                if parts == ["faults", "clear"]:
                    cloud.faults.clear()
                    return self._send(200, {"ok": True})
                if parts == ["pricing"]:
                    products = body.get("products") if isinstance(body, dict) else None
                    if not isinstance(products, list):
                        raise ValueError('expected {"products": [Price List products, as objects or JSON text]}')
                    cloud.products = [p if isinstance(p, str) else json.dumps(p) for p in products]
                    return self._send(200, {"products": len(cloud.products)})
                if parts == ["spot-prices"]:
                    prices = body.get("prices") if isinstance(body, dict) else None
                    if not isinstance(prices, list) or not all(
                            isinstance(p, dict) and {"InstanceType", "AvailabilityZone", "SpotPrice"} <= set(p)
                            for p in prices):
                        raise ValueError('expected {"region": "us-east-1", "prices": [{"InstanceType", '
                                         '"AvailabilityZone", "SpotPrice"}]}')
                    cloud.spot_prices[body.get("region", "us-east-1")] = prices
                    return self._send(200, {"prices": len(prices)})
                if parts == ["quotas"]:
                    region = body.get("region", "us-east-1") if isinstance(body, dict) else None
                    for table in ("applied", "defaults"):
                        items = body.get("quotas" if table == "applied" else "defaults", [])
                        if not isinstance(items, list) or not all(
                                isinstance(q, dict) and {"ServiceCode", "QuotaCode", "Value"} <= set(q) for q in items):
                            raise ValueError('expected {"region": "us-east-1", "quotas": [{"ServiceCode", "QuotaCode", '
                                             '"Value", "QuotaName"?}], "defaults": [...]}')
                        for q in items:
                            cloud.quotas[table][(region, q["ServiceCode"], q["QuotaCode"])] = q
                    return self._send(200, {"applied": len(cloud.quotas["applied"]),
                                            "defaults": len(cloud.quotas["defaults"])})
                if len(parts) == 3 and parts[0] == "vms":
                    iid, op = parts[1], parts[2]
                    if op == "interrupt":
                        return self._send(200, cloud.call(lambda: cloud.interrupt(
                            iid, body.get("in_seconds", 120), body.get("action", "terminate"), body.get("force", False))))
                    if op == "rebalance":
                        return self._send(200, cloud.call(lambda: cloud.rebalance(iid)))
                    if op == "kill":
                        return self._send(200, cloud.call(lambda: cloud.kill_without_notice(iid)))
            except KeyError as e:
                return self._send(404, {"error": e.args[0]})
            except (ValueError, TypeError) as e:
                return self._send(409, {"error": str(e)})
            except Exception as e:
                return self._send(500, {"error": "%s: %s" % (type(e).__name__, e)})
            self._send(404, {"error": "unknown path"})

    srv = http.server.ThreadingHTTPServer((cloud.args.host, cloud.args.control_port), Handler)
    srv.daemon_threads = True
    return srv


def wait_for(cloud, body):
    """POST /wait {"instance_id", "vm": "running"|"down"|..., "state": moto state, "timeout": s}: blocks until the
    VM matches (200, the VM) or the timeout (408, the VM as it is)."""
    iid = body["instance_id"]
    want_vm, want_state = body.get("vm"), body.get("state")
    deadline = time.monotonic() + float(body.get("timeout", 30))

    def match():
        for v in cloud.snapshot or []:
            if v["instance_id"] == iid:
                if (want_vm is None or v["vm"] == want_vm) and (want_state is None or v["state"] == want_state):
                    return v
                if want_vm in ("booting", "running") and v["vm"] == "down" and v["state"] == "terminated":
                    return {"never": v}
                return False
        return False

    with cloud.cond:
        while True:
            v = match()
            if v and "never" in v:
                return 409, {"error": "the VM is down and the instance %s" % v["never"]["state"], "vm": v["never"]}
            if v:
                return 200, v
            left = deadline - time.monotonic()
            if left <= 0 or cloud.stopping:
                current = next((x for x in cloud.snapshot or [] if x["instance_id"] == iid), None)
                return 408, {"error": "timed out waiting for %s" % body, "vm": current}
            cloud.cond.wait(min(left, 1.0))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--host", default="127.0.0.1", help="address of moto and the control API (loopback)")
    ap.add_argument("--moto-port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--poll-interval", type=float, default=0.1)
    ap.add_argument("--shutdown-grace", type=float, default=2.0,
                    help="seconds between SIGTERM and SIGKILL when an instance is stopped or terminated")
    ap.add_argument("--aemm", help="the ec2-metadata-mock binary (default: the one setup.sh installs)")
    ap.add_argument("--parent-pid", type=int, default=os.getppid(),
                    help="exit (killing every VM) when this process is gone (default: the parent; 0: never)")
    ap.add_argument("--watch-stdin", action="store_true", help="exit (killing every VM) when stdin closes")
    ap.add_argument("--no-namespaces", action="store_true", help="plain processes even as root")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    os.makedirs(args.state_dir, exist_ok=True)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s simcloud %(levelname)s %(message)s",
                        handlers=[logging.FileHandler(os.path.join(args.state_dir, "simcloud.log")),
                                  logging.StreamHandler(sys.stderr)])
    # moto in this process must never reach real AWS, whatever the environment holds.
    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(k, None)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    cloud = Cloud(args)
    cloud.snapshot = []
    cloud.start_moto()
    control = make_control(cloud)
    threading.Thread(target=control.serve_forever, name="control", daemon=True).start()
    control_url = "http://%s:%d" % control.server_address[:2]

    def stop(signum, frame):
        cloud.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, stop)
    if args.watch_stdin:
        def read_stdin():
            try:
                while sys.stdin.buffer.read(65536):
                    pass
            except OSError:
                pass
            log.info("stdin closed: shutting down")
            cloud.stopping = True
        threading.Thread(target=read_stdin, name="stdin", daemon=True).start()

    ready = {
        "endpoint_url": cloud.endpoint_url,
        "control_url": control_url,
        "pid": os.getpid(),
        "state_dir": os.path.abspath(args.state_dir),
        "state_file": os.path.join(os.path.abspath(args.state_dir), "state.json"),
        "known_hosts": os.path.join(os.path.abspath(args.state_dir), "known_hosts"),
        "ssh_user": cloud.ssh_user,
        "namespaces": cloud.ns,
        "aws_env": {"AWS_ENDPOINT_URL": cloud.endpoint_url, "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"},
    }
    cloud.publish()
    write_atomic(os.path.join(args.state_dir, "ready.json"), json.dumps(ready, indent=1))
    print("SIMCLOUD_READY " + json.dumps(ready), flush=True)
    log.info("moto at %s, control at %s, state in %s", cloud.endpoint_url, control_url, args.state_dir)
    cloud.watch()  # until stopped; tears every VM down
    control.shutdown()
    try:
        cloud.moto.stop()
    except Exception:
        pass
    log.info("stopped")
    logging.shutdown()
    sys.stdout.flush()
    os._exit(0)  # every VM is down; the interpreter's own teardown of moto's modules takes seconds


if __name__ == "__main__":
    main()
