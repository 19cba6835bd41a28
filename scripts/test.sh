#!/usr/bin/env bash
# Builds, publishes and tests Sluice (the README's test command).
#
#   1. dotnet build Sluice.slnx -c Release
#   2. dotnet publish src/Sluice/Sluice.csproj -c Release -o artifacts/sluice   (exports SLUICE_BIN)
#   3. dotnet test, one invocation per test project of Sluice.slnx, each writing
#      artifacts/test-results/<Project>.trx  (a single `dotnet test Sluice.slnx --logger
#      "trx;LogFileName=results.trx"` makes every project overwrite the same file, so the counts
#      of all but the last project would be lost); then the pooling and transport integration tests once
#      more on the fallback I/O engine (SLUICE_IO_ENGINE=sockets), as Sluice.IntegrationTests.SocketsEngine.trx
#   4. sums the <Counters> of all .trx files.
#   5. scripts/fuzz.sh SLUICE_FUZZ_SECONDS (default 5): a short afl-fuzz run of every fuzz target, each target
#      counted as one test (passed: no crash; failed: a crash or afl-fuzz did not start; skipped: afl++ cannot be
#      installed here, or SLUICE_FUZZ_SECONDS=0). Installs afl++ with apt-get when root. See docs/fuzzing.md.
#
# The very last line of output is always "N passed, N failed, N skipped".
# Exit status is non-zero if the build/publish failed, any dotnet test invocation failed, any test
# failed, or a test project produced no .trx / an aborted run (each counted as one failure).
#
# Integration tests start their own PostgreSQL (Sluice.Testing.PostgresInstance); no service needed.
# Environment honoured/exported: SLUICE_PG_BINDIR, SLUICE_BIN, SLUICE_BIN_DIR; SLUICE_FUZZ_SECONDS (0 = no fuzzing).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
CONFIG=Release
ARTIFACTS="$ROOT/artifacts"
PUBLISH_DIR="$ARTIFACTS/sluice"
RESULTS_DIR="$ARTIFACTS/test-results"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOTNET_GENERATE_ASPNET_CERTIFICATE=false MSBUILDDISABLENODEREUSE=1

passed=0 failed=0 skipped=0 status=0

finish() {
  echo "$passed passed, $failed failed, $skipped skipped"
  if [ "$failed" -gt 0 ]; then status=1; fi
  exit "$status"
}

log() { echo "==> $*"; }

# ---------------------------------------------------------------- PostgreSQL bindir
if [ -z "${SLUICE_PG_BINDIR:-}" ]; then
  bindir=""
  if command -v pg_config >/dev/null 2>&1; then
    bindir="$(pg_config --bindir 2>/dev/null || true)"
  fi
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  fi
  if [ -n "$bindir" ] && [ -x "$bindir/initdb" ]; then
    export SLUICE_PG_BINDIR="$bindir"
  fi
fi
log "SLUICE_PG_BINDIR=${SLUICE_PG_BINDIR:-<not found>}"

# ---------------------------------------------------------------- build
log "dotnet build Sluice.slnx -c $CONFIG"
if ! dotnet build Sluice.slnx -c "$CONFIG"; then
  echo "ERROR: build failed" >&2
  failed=$((failed + 1)); status=1
  finish
fi

# ---------------------------------------------------------------- publish
log "dotnet publish src/Sluice/Sluice.csproj -c $CONFIG -o artifacts/sluice"
rm -rf "$PUBLISH_DIR"
# The default publish is NativeAOT; should the AOT toolchain be missing, the JIT build is tested instead (said loudly).
publish_ok=0
if dotnet publish src/Sluice/Sluice.csproj -c "$CONFIG" -o "$PUBLISH_DIR"; then
  publish_ok=1
else
  echo "WARNING: NativeAOT publish failed; publishing the JIT build (-p:PublishAot=false) instead" >&2
  rm -rf "$PUBLISH_DIR"
  if dotnet publish src/Sluice/Sluice.csproj -c "$CONFIG" -o "$PUBLISH_DIR" -p:PublishAot=false; then publish_ok=1; fi
fi
if [ "$publish_ok" = 1 ]; then
  chmod -R a+rX "$ARTIFACTS" 2>/dev/null || true
  export SLUICE_BIN="$PUBLISH_DIR/sluice"
  # Programs run as the unprivileged `postgres` user (when we are root) need a path they can traverse.
  export SLUICE_BIN_DIR="$PUBLISH_DIR"
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 \
     && ! runuser -u postgres -- test -x "$PUBLISH_DIR/sluice" 2>/dev/null; then
    copy="/tmp/sluice-bin"
    rm -rf "$copy" && mkdir -p "$copy" && cp -a "$PUBLISH_DIR/." "$copy/" && chmod -R a+rX "$copy"
    chmod 0755 "$copy"
    export SLUICE_BIN_DIR="$copy"
    log "repo not traversable by postgres; copied binary to $copy"
  fi
  log "SLUICE_BIN=$SLUICE_BIN SLUICE_BIN_DIR=$SLUICE_BIN_DIR"
else
  echo "ERROR: publish failed (integration tests needing the sluice binary will fail)" >&2
  failed=$((failed + 1)); status=1
fi

# ---------------------------------------------------------------- test
rm -rf "$RESULTS_DIR"
mkdir -p "$RESULTS_DIR"

# Test projects = projects of the solution whose csproj says IsTestProject=true.
mapfile -t projects < <(grep -o 'Path="[^"]*\.csproj"' Sluice.slnx | sed 's/^Path="//; s/"$//' \
  | while read -r p; do grep -qi '<IsTestProject>[[:space:]]*true' "$p" 2>/dev/null && echo "$p"; done)
if [ "${#projects[@]}" -eq 0 ]; then
  echo "ERROR: no test projects found in Sluice.slnx" >&2
  failed=$((failed + 1)); status=1
  finish
fi

attr() { # attr <name> <element-text>
  local v
  v="$(printf '%s' "$2" | sed -n "s/.*[[:space:]]$1=\"\([0-9]*\)\".*/\1/p")"
  echo "${v:-0}"
}

# Each run: "name;test project;filter;environment". Every project runs whole on the default I/O engine (Sluice's
# own event loops); the pooling and transport integration tests run once more on the fallback engine
# (SLUICE_IO_ENGINE=sockets, .NET's socket engine), so the fallback keeps working.
runs=()
for proj in "${projects[@]}"; do runs+=("$(basename "$proj" .csproj);$proj;;"); done
for proj in "${projects[@]}"; do
  case "$proj" in
    *IntegrationTests*) runs+=("$(basename "$proj" .csproj).SocketsEngine;$proj;FullyQualifiedName~.Pooling.|FullyQualifiedName~.Transport.;SLUICE_IO_ENGINE=sockets") ;;
  esac
done

for run in "${runs[@]}"; do
  IFS=';' read -r name proj filter envset <<< "$run"
  trx="$RESULTS_DIR/$name.trx"
  log "dotnet test $proj${filter:+ --filter $filter}${envset:+ ($envset)}"
  env ${envset:+"$envset"} dotnet test "$proj" -c "$CONFIG" --no-build ${filter:+--filter "$filter"} \
    --logger "trx;LogFileName=$name.trx" --results-directory "$RESULTS_DIR" \
    --blame-hang-timeout 15m --blame-hang-dump-type none
  rc=$?
  if [ "$rc" -ne 0 ]; then status=1; fi

  if [ ! -s "$trx" ]; then
    echo "ERROR: $name produced no results file (test run crashed?), dotnet test exit code $rc" >&2
    failed=$((failed + 1)); status=1
    continue
  fi
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)"
  outcome="$(grep -o '<ResultSummary outcome="[^"]*"' "$trx" | head -n 1 | sed 's/.*outcome="//; s/"$//')"
  t=$(attr total "$counters"); e=$(attr executed "$counters"); p=$(attr passed "$counters")
  f=$(( $(attr failed "$counters") + $(attr error "$counters") + $(attr timeout "$counters") + $(attr aborted "$counters") ))
  s=$(( t - e )); [ "$s" -lt 0 ] && s=0
  if [ "$f" -eq 0 ] && { [ "$outcome" != "Completed" ] || [ "$rc" -ne 0 ]; }; then
    echo "ERROR: $name run outcome '$outcome' (exit $rc) with no failed test: counting the aborted run as a failure" >&2
    f=1
  fi
  echo "    $name: $p passed, $f failed, $s skipped (outcome $outcome, exit $rc)"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done

# Stop PostgreSQL clusters orphaned by a crashed test host (Sluice.Testing.PostgresInstance dirs whose
# owner process is gone); normally the fixture stops its cluster itself.
for d in /tmp/sluice-pg-*; do
  [ -f "$d/owner.pid" ] || continue
  owner="$(cat "$d/owner.pid" 2>/dev/null || true)"
  if [ -n "$owner" ] && [ ! -d "/proc/$owner" ]; then
    if [ -f "$d/data/postmaster.pid" ] && [ -n "${SLUICE_PG_BINDIR:-}" ]; then
      if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$SLUICE_PG_BINDIR/pg_ctl" stop -D "$d/data" -m immediate -s >/dev/null 2>&1 || true
      else
        "$SLUICE_PG_BINDIR/pg_ctl" stop -D "$d/data" -m immediate -s >/dev/null 2>&1 || true
      fi
    fi
    rm -rf "$d"
  fi
done

# ---------------------------------------------------------------- fuzz
# A short bounded afl-fuzz pass over every target of tests/Sluice.Fuzz (scripts/fuzz.sh, docs/fuzzing.md), each
# target counted as one test: passed when it ran without a crash, failed when it crashed or afl-fuzz did not
# start, skipped when afl++/sharpfuzz cannot be had here (not root, no apt-get) or SLUICE_FUZZ_SECONDS=0.
fuzz_seconds="${SLUICE_FUZZ_SECONDS:-5}"
mapfile -t fuzz_targets < <(ls tests/Sluice.Fuzz/corpus 2>/dev/null)
fuzz_out="$ARTIFACTS/fuzz"
if [ "$fuzz_seconds" = 0 ]; then
  log "fuzz: skipped (SLUICE_FUZZ_SECONDS=0): ${#fuzz_targets[@]} targets counted as skipped"
  skipped=$((skipped + ${#fuzz_targets[@]}))
else
  log "scripts/fuzz.sh $fuzz_seconds   (every fuzz target for ${fuzz_seconds}s; SLUICE_FUZZ_SECONDS=0 skips this)"
  fuzz_start=$(date +%s)
  SLUICE_FUZZ_OUT="$fuzz_out" scripts/fuzz.sh "$fuzz_seconds"
  rc=$?
  log "fuzz: exit $rc after $(( $(date +%s) - fuzz_start ))s"
  case "$rc" in
    0|1)
      fp=0 ff=0
      if [ -s "$fuzz_out/results.tsv" ]; then
        while IFS=$'\t' read -r _ outcome _; do
          if [ "$outcome" = passed ]; then fp=$((fp + 1)); else ff=$((ff + 1)); fi
        done <"$fuzz_out/results.tsv"
      fi
      if [ $((fp + ff)) -eq 0 ] || { [ "$rc" -ne 0 ] && [ "$ff" -eq 0 ]; }; then
        echo "ERROR: fuzz.sh exited $rc but $fuzz_out/results.tsv does not say which target failed" >&2
        ff=$((ff + 1))
      fi
      echo "    fuzz: $fp passed, $ff failed, 0 skipped (one per target)"
      passed=$((passed + fp)); failed=$((failed + ff))
      ;;
    3)
      echo "WARNING: fuzz run skipped: afl++ or the sharpfuzz tool is not available here (see above);" \
           "${#fuzz_targets[@]} fuzz targets counted as skipped" >&2
      skipped=$((skipped + ${#fuzz_targets[@]}))
      ;;
    *)
      echo "ERROR: fuzz.sh failed to set up (exit $rc): counted as one failure" >&2
      failed=$((failed + 1)); status=1
      ;;
  esac
fi

finish
