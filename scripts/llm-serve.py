"""Serves the Gemma 3 270M GGUF over llama.cpp's OpenAI-compatible HTTP server.

Run by scripts/llm-server.sh inside its venv; not meant to be run by hand.
Usage: llm-serve.py MODEL_PATH PORT THREADS

xllamacpp's `Server(params)` starts llama.cpp's native HTTP server on a
background thread (bound to `params.hostnames`/`params.port`), so this process
only has to stay alive until it is signalled.
"""

import signal
import sys
import threading

import xllamacpp as xlc


GEMMA_TURNS = (
    "{%- set system = namespace(text='') -%}"
    "{%- for message in messages -%}"
    "{%- if message.role == 'system' -%}"
    "{%- set system.text = system.text + message.content + '\\n\\n' -%}"
    "{%- else -%}"
    "{%- set role = 'model' if message.role == 'assistant' else 'user' -%}"
    "{{- '<start_of_turn>' + role + '\\n' -}}"
    "{%- if role == 'user' -%}{{- system.text -}}{%- set system.text = '' -%}{%- endif -%}"
    "{{- message.content + '<end_of_turn>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}"
)


def main() -> None:
    model_path, port, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    params = xlc.CommonParams()
    params.model.path = model_path
    params.model_alias = {"gemma3-270m"}
    params.hostnames = ["127.0.0.1"]  # loopback only, never another address
    params.port = port
    # Two slots so two requests (the Neural Request's sides) decode together;
    # the context is shared between them.
    params.n_parallel = 2
    params.n_ctx = 8192
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    # Sleep rather than spin between batches: the cores are shared.
    params.cpuparams.poll = 0
    params.cpuparams_batch.poll = 0
    params.n_threads_http = 2
    params.sampling.seed = 42
    # The GGUF carries no chat template (llama.cpp would fall back to ChatML,
    # which Gemma does not know), so give it Gemma's turn format; a system
    # message opens the first user turn, as Gemma has no system role.
    params.chat_template = GEMMA_TURNS
    server = xlc.Server(params)
    print(f"llm-serve: listening on {server.listening_address}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    del server


if __name__ == "__main__":
    main()
