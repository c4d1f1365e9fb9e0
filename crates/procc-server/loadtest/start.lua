-- wrk script: POST /api/v1/instances (start seller_acquisition for P3 and A1).
-- The token comes from the environment (PROCC_TOKEN), set by run.sh.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("PROCC_TOKEN")
wrk.body = '{"template": "seller_acquisition", "owner": "j.becker", "property": "P3", "address": "A1"}'

-- Tells run.sh how many processes were started (the ids 1..N that complete.lua uses).
function done(summary, latency, requests)
  io.write(string.format("non-2xx: %d\n", summary.errors.status))
  local file = io.open(os.getenv("PROCC_COUNT_FILE"), "w")
  file:write(summary.requests - summary.errors.status)
  file:close()
end
