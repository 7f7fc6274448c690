-- O1 over many cabinets: each request asks about a random cabinet of the list in the file
-- named by BENCH_CABINET_FILE (one id per line, the demo account's). Over a large fleet most
-- requests miss the simulator's per-worker answer cache, so this measures a fresh read.
local auth = "Basic ZGVtbzpkZW1v"
local ids = {}

function init(args)
  local path = os.getenv("BENCH_CABINET_FILE")
  for line in io.lines(path) do
    if #line > 0 then
      table.insert(ids, line)
    end
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
end

function request()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/cdb-open-api/v1/rent/cabinet/query?deviceId=" .. id, { ["Authorization"] = auth })
end
