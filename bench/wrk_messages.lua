-- wrk script for bench/run.py. With TACTFUL_BENCH_KEY (an API key) set, every request is a
-- POST /v1/messages with a unique event id, built from the wrk thread's number and a per-thread
-- counter, so no request is answered as a replay; a run tag (TACTFUL_BENCH_RUN) keeps ids unique
-- across runs against the same database. Without it wrk sends its plain GET (the /healthz baseline).
-- Either way done() prints one WRK_JSON line for bench/run.py. Customers cycle over 64 ids so feature state
-- and the audit chains' shards are exercised as in real traffic.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local key = os.getenv("TACTFUL_BENCH_KEY")

function init(args)
  counter = 0
  non200 = 0
  run = os.getenv("TACTFUL_BENCH_RUN") or "r"
  if key then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer " .. key
  end
end

local template = '{"event_id":"%s-%d-%d","customer_id":"c%d","conversation_id":"k%d-%d",'
  .. '"channel":"chat","text":"I was charged twice for my order, please refund the second payment"}'

if key then  -- without a key wrk sends its static request (the GET of the URL's path)
  function request()
    counter = counter + 1
    local body = string.format(template, run, tid, counter, (tid * 7 + counter) % 64, tid, counter % 16)
    return wrk.format(nil, nil, nil, body)
  end
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non200") or 0)
  end
  -- One machine-readable line for bench/run.py (wrk's own text is for people).
  io.write(string.format("WRK_JSON {\"requests\":%d,\"seconds\":%.6f,\"non2xx\":%d,\"errors\":%d,"
    .. "\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
    summary.requests, summary.duration / 1e6, bad,
    -- transport errors only: wrk's errors.status counts the non-2xx answers counted above
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
