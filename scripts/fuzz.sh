#!/usr/bin/env bash
# Fuzzes Sluice's parsers with afl-fuzz + SharpFuzz (see docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     SECONDS per target (default 30); default: every target
#
#   1. installs afl++ (apt-get) and the sharpfuzz dotnet tool (into artifacts/fuzz/tools) if missing
#   2. dotnet publish tests/Sluice.Fuzz -c Release -o artifacts/fuzz/bin, then `sharpfuzz` instruments
#      the published Sluice.Core.dll (only Sluice.Core: the fuzz driver and targets stay uninstrumented)
#   3. per target: afl-fuzz -i <corpus/TARGET minus crash-* files> -o artifacts/fuzz/findings/TARGET
#      -V SECONDS -t 5000 -m none -- dotnet Sluice.Fuzz.dll TARGET, one target after the other
#   4. prints one line per target (execs, paths, crashes, hangs) and the path of every crashing input, and
#      writes the same as tab-separated lines to OUT/results.tsv:
#      TARGET  passed|failed  SECONDS  EXECS  PATHS  CRASHES  HANGS  NOTE       (read by scripts/test.sh)
#
# Exit status: 0 when no target crashed, 1 when any did or afl-fuzz did not start/finish (hangs are reported
# but do not fail), 2 on a setup error (build, instrumentation, bad arguments), 3 when afl++ or the sharpfuzz
# tool is missing and cannot be installed (no apt-get / not root / no package source): nothing was fuzzed.
# Findings of the previous run of a target are replaced.
# Environment: SLUICE_FUZZ_OUT (default artifacts/fuzz), SLUICE_FUZZ_TIMEOUT_MS (default 5000),
# SLUICE_FUZZ_OUT_OF_PROCESS=1 (run each input in a child process: slower, survives stack overflows).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
SECONDS_PER_TARGET="${1:-30}"
shift $(( $# > 0 ? 1 : 0 ))
OUT="${SLUICE_FUZZ_OUT:-$ROOT/artifacts/fuzz}"
TOOLS="$OUT/tools"
BIN="$OUT/bin"
CORPUS="$ROOT/tests/Sluice.Fuzz/corpus"
TIMEOUT_MS="${SLUICE_FUZZ_TIMEOUT_MS:-5000}"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 MSBUILDDISABLENODEREUSE=1
# afl-fuzz checks that do not apply here: `dotnet` itself is not instrumented (SharpFuzz reports coverage from
# inside the managed code), the CPU governor and core_pattern belong to the host.
# In a container (CI): core_pattern may pipe to a crash handler, there is no cpufreq governor, CPU binding may be
# refused, and the work tree may be under /tmp; none of that matters for crash finding.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_NO_AFFINITY=1 AFL_ALLOW_TMP=1
# Steadier coverage under AFL: no profile-guided re-JIT of hot methods halfway through a run.
export DOTNET_TieredPGO=0

die() { echo "fuzz.sh: $*" >&2; exit 2; }
unavailable() { echo "fuzz.sh: fuzzing not possible here: $*" >&2; exit 3; }
log() { echo "==> $*"; }

case "$SECONDS_PER_TARGET" in ''|*[!0-9]*|0) die "SECONDS must be a whole number of at least 1, got '$SECONDS_PER_TARGET'";; esac

# ---------------------------------------------------------------- tools
mkdir -p "$OUT"
rm -f "$OUT/results.tsv"
if ! command -v afl-fuzz >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then unavailable "afl-fuzz not found and not root (install it with: apt-get install afl++)"; fi
  command -v apt-get >/dev/null 2>&1 || unavailable "afl-fuzz not found and no apt-get to install afl++ with"
  log "installing afl++ (apt-get; log in $OUT/apt.log)"
  export DEBIAN_FRONTEND=noninteractive
  # Try the package lists as they are first (CI's .ci/run has just updated them), then refresh them once.
  if ! apt-get install -y -q --no-install-recommends afl++ >"$OUT/apt.log" 2>&1; then
    { apt-get update -q && apt-get install -y -q --no-install-recommends afl++; } >>"$OUT/apt.log" 2>&1
  fi
  if ! command -v afl-fuzz >/dev/null 2>&1; then
    tail -n 15 "$OUT/apt.log" >&2
    unavailable "apt-get install afl++ failed (see $OUT/apt.log)"
  fi
fi
SHARPFUZZ="$(command -v sharpfuzz || true)"
if [ -z "$SHARPFUZZ" ]; then
  SHARPFUZZ="$TOOLS/sharpfuzz"
  if [ ! -x "$SHARPFUZZ" ]; then
    log "installing the sharpfuzz tool into $TOOLS"
    if ! dotnet tool install --tool-path "$TOOLS" SharpFuzz.CommandLine --version 2.3.0 >"$OUT/tool-install.log" 2>&1; then
      tail -n 15 "$OUT/tool-install.log" >&2
      unavailable "dotnet tool install SharpFuzz.CommandLine 2.3.0 failed (see $OUT/tool-install.log)"
    fi
  fi
fi

# ---------------------------------------------------------------- build + instrument
mapfile -t ALL_TARGETS < <(ls "$CORPUS")
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
for t in "${TARGETS[@]}"; do [ -d "$CORPUS/$t" ] || die "unknown target '$t' (targets: ${ALL_TARGETS[*]})"; done

log "publishing tests/Sluice.Fuzz to $BIN"
rm -rf "$BIN"   # a fresh copy: sharpfuzz instruments in place and refuses an already instrumented file
dotnet publish "$ROOT/tests/Sluice.Fuzz/Sluice.Fuzz.csproj" -c Release -o "$BIN" -v:q -nologo >"$OUT/publish.log" 2>&1 \
  || { cat "$OUT/publish.log" >&2; die "dotnet publish failed"; }
log "instrumenting Sluice.Core.dll"
"$SHARPFUZZ" "$BIN/Sluice.Core.dll" >/dev/null || die "sharpfuzz failed to instrument $BIN/Sluice.Core.dll"

# ---------------------------------------------------------------- fuzz
stat_of() { sed -n "s/^$2[[:space:]]*: *//p" "$1" 2>/dev/null | head -n 1; }
DOTNET="$(command -v dotnet)"
# A safety net over afl-fuzz's own -V limit (start-up, dry run and shutdown included), so that nothing can keep a
# CI run waiting: generous, since the dry run of every seed on a loaded 2-core machine can take a while.
WALL_LIMIT=$(( SECONDS_PER_TARGET + 180 ))

crashed=0
summary=()
crash_files=()
for t in "${TARGETS[@]}"; do
  seeds="$OUT/seeds/$t"
  findings="$OUT/findings/$t"
  rm -rf "$seeds" "$findings"
  mkdir -p "$seeds" "$OUT/findings"
  # Known, unfixed crashes (crash-*) are kept in the corpus as a record; AFL refuses crashing seeds.
  find "$CORPUS/$t" -maxdepth 1 -type f ! -name 'crash-*' -exec cp {} "$seeds/" \;
  stats="$findings/default/fuzzer_stats"
  for attempt in 1 2; do
    log "afl-fuzz $t for ${SECONDS_PER_TARGET}s"
    timeout -k 10 "$WALL_LIMIT" afl-fuzz -i "$seeds" -o "$findings" -V "$SECONDS_PER_TARGET" -t "$TIMEOUT_MS" -m none \
      -- "$DOTNET" "$BIN/Sluice.Fuzz.dll" "$t" >"$OUT/afl-$t.log" 2>&1
    rc=$?
    # On a loaded machine the dry run of a fresh .NET process now and then sees an empty trace map
    # ("No instrumentation detected"); a second start has always worked.
    if [ -f "$stats" ] || [ "$attempt" -eq 2 ]; then break; fi
    log "afl-fuzz $t did not start (exit $rc): retrying once"
    rm -rf "$findings"
  done
  if [ ! -f "$stats" ]; then
    echo "---- last lines of $OUT/afl-$t.log:" >&2
    tail -n 30 "$OUT/afl-$t.log" | sed 's/\x1b\[[0-9;]*m//g' >&2
    summary+=("$(printf '%-16s afl-fuzz failed to start (exit %s), see %s' "$t" "$rc" "$OUT/afl-$t.log")")
    printf '%s\tfailed\t%s\t\t\t\t\tafl-fuzz failed to start (exit %s)\n' "$t" "$SECONDS_PER_TARGET" "$rc" >>"$OUT/results.tsv"
    crashed=1
    continue
  fi
  execs="$(stat_of "$stats" execs_done)"
  paths="$(stat_of "$stats" corpus_count)"; [ -n "$paths" ] || paths="$(stat_of "$stats" paths_total)"
  crashes="$(stat_of "$stats" saved_crashes)"; [ -n "$crashes" ] || crashes="$(stat_of "$stats" unique_crashes)"
  hangs="$(stat_of "$stats" saved_hangs)"; [ -n "$hangs" ] || hangs="$(stat_of "$stats" unique_hangs)"
  crashes="${crashes:-0}" hangs="${hangs:-0}"
  outcome=passed note=""
  if [ "$crashes" != "0" ]; then
    outcome=failed note="$crashes crashing input(s)"
  elif [ "$rc" -ne 0 ]; then
    # e.g. 124: the wall-clock safety net had to stop it
    outcome=failed note="afl-fuzz exited with status $rc"
    tail -n 30 "$OUT/afl-$t.log" | sed 's/\x1b\[[0-9;]*m//g' >&2
  fi
  line="$(printf '%-16s %4ss  execs %-9s paths %-5s crashes %-3s hangs %s' "$t" "$SECONDS_PER_TARGET" "$execs" "$paths" "$crashes" "$hangs")"
  summary+=("$line${note:+  ($note)}")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$outcome" "$SECONDS_PER_TARGET" "$execs" "$paths" "$crashes" "$hangs" "$note" >>"$OUT/results.tsv"
  while IFS= read -r f; do crash_files+=("$f"); done < <(find "$findings/default/crashes" -type f -name 'id:*' 2>/dev/null | sort)
  if [ "$outcome" = failed ]; then crashed=1; fi
done

echo
echo "fuzz summary (${SECONDS_PER_TARGET}s per target; findings in $OUT/findings):"
for line in "${summary[@]}"; do echo "  $line"; done
if [ "${#crash_files[@]}" -gt 0 ]; then
  echo "crashing inputs (replay: dotnet $BIN/Sluice.Fuzz.dll TARGET --replay FILE):"
  for f in "${crash_files[@]}"; do echo "  $f"; done
fi
exit "$crashed"
