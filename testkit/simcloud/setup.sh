#!/usr/bin/env bash
# Installs what the simulated cloud needs, idempotently (a second run takes well under a second):
#   - apt packages, only those missing: openssh-server (sshd), openssh-client (ssh, ssh-keygen),
#     util-linux (unshare, setsid), python3-venv, golang-go only when no `go` is on PATH;
#   - a virtualenv with the pinned PyPI packages of requirements.txt (moto[server], boto3);
#   - AWS's amazon-ec2-metadata-mock, `go install`ed at a pinned version.
# Everything goes under $SIMCLOUD_CACHE (default ~/.cache/sortie-tests): venv in simcloud-venv/, the
# metadata mock in bin/. Prints the two paths at the end (VENV=..., AEMM=...), for scripts that eval it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${SIMCLOUD_CACHE:-$HOME/.cache/sortie-tests}"
venv="$cache/simcloud-venv"
bin="$cache/bin"
AEMM_MODULE="github.com/aws/amazon-ec2-metadata-mock"
AEMM_VERSION="v1.13.0"
aemm="$bin/ec2-metadata-mock"

need_apt=()
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
command -v unshare >/dev/null 2>&1 && command -v setsid >/dev/null 2>&1 || need_apt+=(util-linux)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
[ -x "$aemm.$AEMM_VERSION" ] || command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "simcloud setup: installing ${need_apt[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >&2
fi

mkdir -p "$cache" "$bin"

# The venv: remade when requirements.txt changes (its hash is kept beside it).
req="$here/requirements.txt"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  echo "simcloud setup: making $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$venv/.requirements.sha256"
fi

# The metadata mock: installed once per version (the versioned file is the marker; the plain name links to it).
# It needs Go >= 1.21 (which fetches the toolchain its go.mod asks for, 1.23, through the module proxy);
# Debian 12's golang-go is 1.19: then Go's own golang.org/dl bootstraps a newer one under $cache.
if [ ! -x "$aemm.$AEMM_VERSION" ]; then
  echo "simcloud setup: go install $AEMM_MODULE/cmd/ec2-metadata-mock@$AEMM_VERSION" >&2
  go_cmd=go
  minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
  if [ "${minor:-0}" -lt 21 ]; then
    boot=go1.23.4
    if [ ! -x "$bin/$boot" ]; then
      echo "simcloud setup: $(go env GOVERSION) is too old; bootstrapping $boot with golang.org/dl" >&2
      GOBIN="$bin" go install "golang.org/dl/$boot@latest" >&2
    fi
    HOME="$cache" "$bin/$boot" download >&2 || true
    go_cmd="$cache/sdk/$boot/bin/go"
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" GOTOOLCHAIN=auto GOFLAGS="${GOFLAGS:-} -buildvcs=false" "$go_cmd" install "$AEMM_MODULE/cmd/ec2-metadata-mock@$AEMM_VERSION" >&2
  mv "$tmp/ec2-metadata-mock" "$aemm.$AEMM_VERSION"
fi
ln -sfn "ec2-metadata-mock.$AEMM_VERSION" "$aemm"

echo "VENV=$venv"
echo "AEMM=$aemm"
