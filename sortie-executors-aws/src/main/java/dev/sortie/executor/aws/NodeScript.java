package dev.sortie.executor.aws;

import dev.sortie.executor.remote.channel.ShellQuote;
import java.time.Duration;

/**
 * The user data of a Sortie instance: a {@code #!} shell script (cloud-init runs it once, as root, at first boot) that
 * prepares the node and starts its watchdog. It
 * <ol>
 * <li>installs the host key Sortie made for this instance as the key sshd offers (over the ed25519 host key file the
 *     running sshd was configured with, the others removed, then a SIGHUP to sshd): Sortie knows the key before the
 *     instance exists and accepts no other, so the first connection is verified, not trusted on first use;</li>
 * <li>checks for Java (installing a headless JRE with apt or dnf when missing), makes the node-local cache folder;</li>
 * <li>with a named volume ({@link Volumes}): waits for it to be attached (Sortie attaches it once the instance runs),
 *     finds its device (the NVMe disk whose serial is the volume id on Nitro instances, else {@value Volumes#DEVICE} or
 *     its {@code xvd} name), makes an ext4 file system only when it has none, mounts it at the cache folder and
 *     grows the file system to the volume's size (resize2fs); a volume never attached leaves the cache on the root
 *     volume, said in the log;</li>
 * <li>starts the watchdog: a shell loop that powers the instance off (terminate, with
 *     InstanceInitiatedShutdownBehavior=terminate) after {@code idleStop} with no Sortie agent running, and after
 *     {@code maxLifetime} in any case; it needs neither the laptop nor Sortie reachable;</li>
 * <li>writes the instance id its metadata service gives to {@value #INSTANCE_ID} (curl, IMDSv2): a run that logs in
 *     without asking EC2 confirms the instance with it;</li>
 * <li>writes {@value #READY} last: Sortie waits for it before calling the node ready.</li>
 * </ol>
 */
final class NodeScript {
    /** Written when the node is prepared (tmpfs: gone at the next boot, when the script does not run again). */
    static final String READY = "/run/sortie-node/ready";
    /** The instance's id as its metadata service gave it at boot (see {@link HotLogin}). */
    static final String INSTANCE_ID = "/run/sortie-node/instance-id";
    /** How often the watchdog looks. */
    static final int POLL_SECONDS = 2;
    /**
     * What Sortie creates on the node when AWS refused to attach its volume (another instance got it first), so the
     * node stops waiting for it: in /tmp, which any user may write (an early stop only leaves the cache unmounted).
     */
    static String noVolumeMarker(String volumeId) {
        return "/tmp/sortie-no-volume-" + volumeId;
    }

    /** How long the node waits for its named volume to be attached before it runs without it. */
    static final int VOLUME_WAIT_SECONDS = 120;

    private NodeScript() {
    }

    /**
     * @param hostKey     the instance's host key pair (the private key is in the script: user data is readable by
     *                    whoever may call DescribeInstanceAttribute on the account, and from the instance's metadata)
     * @param sshUser     the login user, whose home holds {@code remoteDir}
     * @param maxLifetime null: none
     */
    static String render(String executor, SshKeys.Generated hostKey, String sshUser, String remoteDir, Duration idleStop,
                         Duration maxLifetime) {
        return render(executor, hostKey, sshUser, remoteDir, idleStop, maxLifetime, null);
    }

    /** As above, with the named volume {@code volumeId} (null: none) mounted at the cache folder. */
    static String render(String executor, SshKeys.Generated hostKey, String sshUser, String remoteDir, Duration idleStop,
                         Duration maxLifetime, String volumeId) {
        String cache = remoteDir.equals("~") ? "$H" : remoteDir.startsWith("~/") ? "$H/" + remoteDir.substring(2) : remoteDir;
        return """
                #!/bin/sh
                # Sortie node setup for executor %1$s: host key, Java, cache folder, watchdog.
                set -u
                umask 022
                NODE=/run/sortie-node
                mkdir -p "$NODE"
                log() { echo "sortie-node: $*"; }
                log "preparing ($(date -u +%%FT%%TZ))"

                # 1. The host key Sortie gave this instance, as the one sshd offers.
                cat > "$NODE/host_key" <<'SORTIE_KEY'
                %2$sSORTIE_KEY
                chmod 600 "$NODE/host_key"
                echo %3$s > "$NODE/host_key.pub"
                listener=""; i=0
                while [ -z "$listener" ] && [ $i -lt 60 ]; do
                  for d in /proc/[0-9]*; do
                    case "$(tr '\\000' ' ' < "$d/cmdline" 2>/dev/null)" in *"[listener]"*) listener=${d#/proc/} ;; esac
                  done
                  [ -n "$listener" ] || { i=$((i+1)); sleep 0.5; }
                done
                conf=/etc/ssh/sshd_config
                if [ -n "$listener" ]; then
                  set -- $(tr '\\000' ' ' < "/proc/$listener/cmdline")
                  while [ $# -gt 0 ]; do [ "$1" = "-f" ] && [ $# -gt 1 ] && conf=$2; shift; done
                fi
                SSHD=$(command -v sshd || echo /usr/sbin/sshd)
                keys=$("$SSHD" -T -f "$conf" 2>/dev/null | awk '$1=="hostkey"{print $2}')
                [ -n "$keys" ] || keys=/etc/ssh/ssh_host_ed25519_key
                target=""
                for k in $keys; do case "$k" in *ed25519*) [ -z "$target" ] && target=$k ;; esac; done
                [ -n "$target" ] || target=$(echo "$keys" | head -n 1)
                for k in $keys; do
                  if [ "$k" = "$target" ]; then
                    cp "$NODE/host_key" "$k" && chmod 600 "$k" && cp "$NODE/host_key.pub" "$k.pub"
                  else
                    rm -f "$k" "$k.pub"
                  fi
                done
                if [ -n "$listener" ]; then kill -HUP "$listener"; fi
                log "host key installed in $target"

                # 2. Java for Sortie's agent, the node-local cache.
                if ! command -v java >/dev/null 2>&1; then
                  log "no java: installing a headless JRE"
                  if command -v apt-get >/dev/null 2>&1; then
                    DEBIAN_FRONTEND=noninteractive apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y openjdk-17-jre-headless
                  elif command -v dnf >/dev/null 2>&1; then
                    dnf -q install -y java-17-amazon-corretto-headless || dnf -q install -y java-17-openjdk-headless
                  fi
                fi
                command -v java >/dev/null 2>&1 && log "java: $(java -version 2>&1 | head -n 1)" || log "no java; runs will fail until one is installed"
                U=%4$s
                H=$(getent passwd "$U" 2>/dev/null | cut -d: -f6); [ -n "$H" ] || H=${HOME:-/root}
                mkdir -p "%5$s/cache" && chown -R "$U" "%5$s" 2>/dev/null
                log "cache folder %5$s/cache"

                # 2b. The named volume, if any: attached by Sortie once the instance runs; mounted at the cache folder.
                VOL=%10$s
                if [ -n "$VOL" ]; then
                  serial=$(echo "$VOL" | tr -d -)
                  dev=""; i=0
                  while [ -z "$dev" ] && [ $i -lt %11$d ]; do
                    for d in "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$serial" %12$s %13$s; do
                      if [ -b "$d" ]; then dev=$(readlink -f "$d"); break; fi
                    done
                    [ -n "$dev" ] || [ -e "/tmp/sortie-no-volume-$VOL" ] && break
                    i=$((i+1)); sleep 0.5
                  done
                  if [ -z "$dev" ]; then
                    log "volume $VOL: not attached; the cache stays on the root volume"
                  else
                    if ! blkid -p "$dev" >/dev/null 2>&1; then
                      log "volume $VOL: blank, making an ext4 file system on $dev"
                      mkfs.ext4 -q -L sortie-cache "$dev"
                    fi
                    if mount "$dev" "%5$s/cache"; then
                      if ! resize2fs "$dev" >/dev/null 2>&1; then
                        # growing a mounted file system needs CAP_SYS_RESOURCE (a container may lack it): unmounted then
                        umount "%5$s/cache" && { e2fsck -f -p "$dev" >/dev/null 2>&1; resize2fs "$dev" >/dev/null 2>&1 \
                          || log "volume $VOL: resize2fs failed"; mount "$dev" "%5$s/cache"; }
                      fi
                      chown "$U" "%5$s/cache"
                      echo "$dev" > "$NODE/volume-device"
                      log "volume $VOL: $dev mounted at %5$s/cache ($(df -h "%5$s/cache" | awk 'NR==2{print $2}'))"
                    else
                      log "volume $VOL: cannot mount $dev; the cache stays on the root volume"
                    fi
                  fi
                fi

                # 3. The watchdog: power off after %6$d s with no agent running, and after %7$d s in any case (0: never).
                cat > "$NODE/watchdog.sh" <<'SORTIE_WATCHDOG'
                #!/bin/sh
                IDLE=$1; MAX=$2; NODE=$3
                born=$(date +%%s); last=$born
                down() { echo "sortie-watchdog: $1: powering off"; shutdown -h now 2>/dev/null || poweroff 2>/dev/null || halt -p; exit 0; }
                while :; do
                  now=$(date +%%s)
                  # an agent runs: its command line holds "AgentMain run" (the bracket keeps grep from finding itself)
                  if grep -qsa 'AgentMain[^a-zA-Z.]run' /proc/[0-9]*/cmdline; then last=$now; fi
                  echo "$now $last" > "$NODE/watchdog.state"
                  [ "$MAX" -gt 0 ] && [ $((now - born)) -ge "$MAX" ] && down "max lifetime of ${MAX}s reached"
                  [ $((now - last)) -ge "$IDLE" ] && down "idle for ${IDLE}s"
                  sleep %8$d
                done
                SORTIE_WATCHDOG
                chmod 755 "$NODE/watchdog.sh"
                nohup setsid "$NODE/watchdog.sh" %6$d %7$d "$NODE" >> /var/log/sortie-watchdog.log 2>&1 < /dev/null &
                log "watchdog started (idle stop %6$d s, max lifetime %7$d s)"

                # 4. The instance's id from its metadata service (IMDSv2): a run that logs in without asking EC2 first
                # checks it (with the host key) to know this is the instance it expects.
                imds=${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}; imds=${imds%%/}
                tok=$(curl -sf --connect-timeout 2 -m 5 -X PUT -H 'x-aws-ec2-metadata-token-ttl-seconds: 60' "$imds/latest/api/token")
                if curl -sf --connect-timeout 2 -m 5 -H "x-aws-ec2-metadata-token: $tok" "$imds/latest/meta-data/instance-id" > %14$s.tmp; then
                  mv %14$s.tmp %14$s; log "instance $(cat %14$s)"
                else
                  rm -f %14$s.tmp; log "no instance id from the metadata service at $imds"
                fi
                touch %9$s
                log "ready"
                """.formatted(executor.replaceAll("[^A-Za-z0-9_.-]", "_"), hostKey.privateKey().endsWith("\n") ? hostKey.privateKey()
                        : hostKey.privateKey() + "\n", ShellQuote.quote(SshKeys.bare(hostKey.publicKey())), ShellQuote.quote(sshUser),
                cache, Math.max(1, idleStop.toSeconds()), maxLifetime == null ? 0 : Math.max(1, maxLifetime.toSeconds()), POLL_SECONDS,
                READY, volumeId == null ? "''" : ShellQuote.quote(volumeId), VOLUME_WAIT_SECONDS * 2, Volumes.DEVICE,
                Volumes.DEVICE.replace("/dev/sd", "/dev/xvd"), INSTANCE_ID);
    }
}
