// Package backend holds the generators diorama renders through, behind
// core.Generator: an OpenAI-compatible streaming client (Ollama, llama.cpp
// server, LM Studio, vLLM, OpenRouter, OpenAI, Anthropic's compatible
// endpoint), the offline renderer that needs no model, and a scripted
// generator for tests; plus the Lua config that names them, probing, and
// token counting. It depends on core, never the reverse.
//
// # Config
//
// diorama/config.lua in the user's config directory returns a table:
//
//	return {
//	  default = "ollama",
//	  backends = {
//	    ollama = { base_url = "http://127.0.0.1:11434/v1", model = "llama3.1:8b", context = 8192 },
//	    ["local"] = { base_url = "http://127.0.0.1:8080/v1", tokenizer = "llamacpp" },
//	    openrouter = {
//	      base_url = "https://openrouter.ai/api/v1", model = "meta-llama/llama-3.1-70b-instruct",
//	      api_key_env = "OPENROUTER_API_KEY", headers = { ["X-Title"] = "diorama" },
//	    },
//	  },
//	}
//
// Backend keys: base_url (required), model (default: the server's first),
// api_key_env (the NAME of the variable holding the key: keys are never
// written to files or saves), headers, context, max_tokens (default 400),
// temperature (0–2), tokenizer ("auto", "llamacpp", "estimate"),
// include_usage, connect_timeout, header_timeout, idle_timeout (seconds;
// defaults 5, 120, 60) and max_attempts (default 4). Unknown keys are errors
// with file:line. `local` is a Lua keyword, so a backend of that name is
// written ["local"]. DIORAMA_BASE_URL, DIORAMA_MODEL and DIORAMA_API_KEY_ENV
// define (or override) the backend "env" and make it the default; with
// only DIORAMA_MODEL set, "env" copies the configured default backend.
//
// # Faults of the OpenAI-compatible backend
//
// Generate connects and reads until the first text arrives; everything
// before that may be retried, nothing after it is. Retried, with
// exponential backoff (500ms doubling to 8s, max_attempts in all):
// connection refused or connect timeout, 429 (waiting what Retry-After
// asks, in seconds or as an HTTP date; more than 30s gives up at once and
// says how long), 5xx, the same statuses sent as an error inside a 200
// stream, and a connection dropped before the first text. Not retried: a
// server that accepted the connection but sent no headers within
// header_timeout (it is busy with our prompt: sending it again would queue
// behind itself), other 4xx (a 400 naming n_ctx or the context size says
// the prompt does not fit), invalid chunks, empty replies.
//
// A reply is complete when a finish_reason arrived, or when the server
// ended the stream with data: [DONE] after some text (a few servers omit
// finish_reason; a cut connection cannot produce [DONE]). We read the event
// stream ourselves rather than through go-openai's stream reader, which
// returns the same io.EOF for [DONE] and for a dropped connection and loses
// an error event that follows a keep-alive comment. A stream that ends or
// breaks otherwise fails with core.ErrIncomplete and the text received so
// far in GenError.Partial, never as a reply. finish_reason "length" is
// complete; the stream's Note says the reply hit max_tokens. Every failure
// is a *GenError: what happened, what to try, classified by
// core.ErrUnavailable (nothing usable arrived), core.ErrIncomplete (cut
// after text arrived, or cancelled) or core.ErrEmpty (finished with no
// text, including LM Studio's empty 200 for an over-long prompt).
//
// The default HTTP client has no timeout; this one has three: connect
// (connect_timeout), response headers (header_timeout) and an idle
// watchdog (idle_timeout) re-armed by every byte received, keep-alive
// comments included. Keep-alives alone do not keep a stream alive forever:
// one that sends nothing but keep-alives for header_timeout (before the
// first text or between two chunks) is given up (ErrIdle), and one that
// streams far beyond max_tokens without a finish_reason (more than
// 4·max_tokens+256 chunks, or 256 bytes a token) is cut (ErrRunaway);
// neither is retried. Cancelling the context (Esc in the shell) stops the
// request at once.
//
// # Streams
//
// The streams of every generator here also have FinishReason() string and
// Note() string; the OpenAI-compatible one has Usage() Usage. Consumers
// reach them through an interface of their own.
package backend
