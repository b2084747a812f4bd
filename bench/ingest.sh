#!/bin/sh
# Ingest load (issue 12): simulated agents (the real HomeReporter over a journal and a log each) report home to one
# `sortie server` on loopback, SIGKILLed halfway and restarted; every point and log byte must arrive exactly once.
# Prints one "sortie-bench: ingest ..." line: points/s held, p50/p99 latency per report, resends, the load average.
# Full size by default: 100 agents x 10 points/s x 60 s. Override: AGENTS=20 SECONDS=10 RATE=10 bench/ingest.sh
# Also runs AgentHomeTest's ssh case, which prints how long a metric printed by a run takes to be readable through the API.
set -eu
cd "$(dirname "$0")/.."
AGENTS=${AGENTS:-100} RATE=${RATE:-10} SECONDS_=${SECONDS:-60}
mvn -B -ntp -o verify -pl sortie-cli -am -Dsurefire.failIfNoSpecifiedTests=false \
  -Dtest='IngestLoadTest,AgentHomeTest#aRunOnAnSshHostReportsHomeLiveAndCompleteOnceThroughAServerKilledMidRun' \
  -Dsortie.load.agents="$AGENTS" -Dsortie.load.rate="$RATE" -Dsortie.load.seconds="$SECONDS_" 2>&1 \
  | grep -E 'sortie-bench|Tests run:|FAIL' 
