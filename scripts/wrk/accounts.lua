-- O1 spread over many accounts: each request takes the next (Authorization, cabinet) pair of
-- BENCH_PAIRS ("Basic ...|BAA00000,Basic ...|DAA00001,..."), so a balancer in front routes
-- every request by its account (scripts/cluster-bench.sh).
local pairs_ = {}
local i = 0

function init(args)
  for entry in string.gmatch(os.getenv("BENCH_PAIRS") or "", "[^,]+") do
    local auth, cab = string.match(entry, "([^|]+)|(.+)")
    table.insert(pairs_, { auth = auth, cab = cab })
  end
  i = math.random(#pairs_)
end

function request()
  i = i % #pairs_ + 1
  local p = pairs_[i]
  return wrk.format("GET", "/cdb-open-api/v1/rent/cabinet/query?deviceId=" .. p.cab, { ["Authorization"] = p.auth })
end
