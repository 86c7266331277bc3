-- bench/wrk_load.lua: wrk's script for bench/http.sh (BENCH_HTTP_LOAD=wrk).
-- WRK_METHOD (default GET) and, for a POST, WRK_BODY_BYTES bytes of 'v'
-- (default 100) as application/octet-stream, as bench/httpload sends.
-- Prints one line in httpload's format:
--   requests N rps R p50_ms A p99_ms B p999_ms C errors E
-- where errors counts connect, read, write and timeout errors and answers
-- whose status is not 2xx or 3xx.
wrk.method = os.getenv("WRK_METHOD") or "GET"
if wrk.method == "POST" then
   wrk.body = string.rep("v", tonumber(os.getenv("WRK_BODY_BYTES") or "100"))
   wrk.headers["Content-Type"] = "application/octet-stream"
end

-- WRK_CONTEXTS=N: the path's "CTX" becomes a context number, each request
-- the next modulo N (bench/http.sh's 16-context row).
local contexts = tonumber(os.getenv("WRK_CONTEXTS") or "0")
if contexts > 0 then
   local n = 0
   request = function()
      n = n + 1
      local path = wrk.path:gsub("CTX", tostring(n % contexts))
      return wrk.format(nil, path)
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format("requests %d rps %.0f p50_ms %.3f p99_ms %.3f p999_ms %.3f errors %d\n",
                          summary.requests, summary.requests / secs,
                          latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                          latency:percentile(99.9) / 1000,
                          e.connect + e.read + e.write + e.status + e.timeout))
end
