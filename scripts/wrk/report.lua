-- Status reports of random cabinets: each one is a CABINET_STATUS push to the subscriber.
local cabinets = {}

function init(args)
  for c in string.gmatch(os.getenv("BENCH_CABINETS") or "BJD60151", "[^,]+") do
    table.insert(cabinets, c)
  end
end

function request()
  return wrk.format("POST", "/_sim/cabinets/" .. cabinets[math.random(#cabinets)] .. "/report")
end
