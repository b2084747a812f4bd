#!/bin/sh
# The main job on the embedded default (local executor, SQLite ledger, local store):
# builds Sortie if needed, copies the quickstart example into a fresh git repo, runs it as a handful of
# experiments with different params, and prints the experiments table.
set -eu
root=$(cd "$(dirname "$0")" && pwd)
demo="${SORTIE_DEMO_DIR:-$root/target/demo}"
if [ ! -d "$root/sortie-cli/target/dist/lib" ]; then
  echo "== building Sortie (mvn -q -DskipTests package)"
  (cd "$root" && mvn -q -DskipTests package)
fi
sortie="$root/sortie"
rm -rf "$demo"
mkdir -p "$demo"
cp -R "$root/examples/quickstart/." "$demo/"
cd "$demo"
git init -q
git add -A
git -c user.name=demo -c user.email=demo@localhost commit -qm "quickstart"
"$sortie" init
for lr in 0.01 0.05 0.2; do
  echo "== sortie run -n lr-$lr -S lr=$lr"
  "$sortie" run -n "lr-$lr" -S lr="$lr"
done
echo "== sortie run -n short -S epochs=3 -S batch_size=64"
"$sortie" run -n short -S epochs=3 -S batch_size=64
echo "== sortie show --sort-by loss"
"$sortie" show --sort-by loss
echo
echo "The demo project is in $demo: try 'cd $demo && $sortie logs lr-0.2' or '$sortie diff lr-0.01 lr-0.2'."
