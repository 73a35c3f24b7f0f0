#!/usr/bin/env bash
# Rebuild the committed leaderboard in leaderboards/: run the offline models (context-echo, retrieval, altbench-tiny)
# on the demo split and the released sample splits, then publish every run as a static site.
# Extra arguments go to `python -m altbench.publish.rebuild` (see --help), e.g. --models context-echo,retrieval,NAME
set -euo pipefail
cd "$(dirname "$0")/.."
data="${ALTBENCH_DATA:-}"
if [ -z "$data" ] && [ -d ../shared/data/mcmdpo-sample ]; then
  data=../shared/data/mcmdpo-sample  # this workspace's copy of the released sample; else it is downloaded
fi
args=(--out leaderboards --runs-dir runs/leaderboard --convention paper --probes context-swap,image-noise)  # the statistical defaults
if [ -n "$data" ]; then
  args+=(--data-root "$data")
fi
exec python3 -m altbench.publish.rebuild "${args[@]}" "$@"
