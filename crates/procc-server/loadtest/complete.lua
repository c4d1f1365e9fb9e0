-- wrk script: POST /api/v1/instances/{id}/steps/0/complete, each request a different
-- instance (ids 1..PROCC_INSTANCES), so every request completes an active step. Thread t of n
-- takes the ids t, t+n, t+2n, ... and stops when its ids run out.
local threads = {}

function setup(thread)
  thread:set("first", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  count = tonumber(os.getenv("PROCC_THREADS"))
  last = tonumber(os.getenv("PROCC_INSTANCES"))
  id = first - count
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("PROCC_TOKEN")
  wrk.body = "{}"
end

function request()
  id = id + count
  return wrk.format(nil, "/api/v1/instances/" .. id .. "/steps/0/complete")
end

function response(status, headers, body)
  if id + count > last then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx: %d\n", summary.errors.status))
end
