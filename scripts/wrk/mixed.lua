-- Mixed read/write workload: per thread, a queue of follow-up steps. A rent creates an order on
-- a random cabinet; its answer queues the order detail; the detail queues the return of the
-- battery to the same cabinet; otherwise O1 reads fill the gaps (one write cycle per 4 reads).
local auth = "Basic ZGVtbzpkZW1v"
local cabinets = {}
local queue = {}
local n = 0

function init(args)
  for c in string.gmatch(os.getenv("BENCH_CABINETS") or "BJD60151", "[^,]+") do
    table.insert(cabinets, c)
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
end

local function post(path)
  return wrk.format("POST", path, { ["Authorization"] = auth })
end

function request()
  n = n + 1
  local step = table.remove(queue, 1)
  if step then
    if step.kind == "detail" then
      return wrk.format("GET", "/cdb-open-api/v1/rent/order/detail?tradeNo=" .. step.trade, { ["Authorization"] = auth })
    else
      return post("/_sim/cabinets/" .. step.cabinet .. "/return?batteryId=" .. step.battery)
    end
  end
  local cab = cabinets[math.random(#cabinets)]
  if n % 5 == 0 then
    last_cabinet = cab
    return post("/cdb-open-api/v1/rent/order/create?deviceId=" .. cab .. "&callbackURL=" .. (os.getenv("BENCH_CALLBACK") or "http://127.0.0.1:9/cb"))
  end
  return wrk.format("GET", "/cdb-open-api/v1/rent/cabinet/query?deviceId=" .. cab, { ["Authorization"] = auth })
end

function response(status, headers, body)
  local trade = string.match(body, '"tradeNo":"(%d+)"')
  if trade then
    table.insert(queue, { kind = "detail", trade = trade })
    return
  end
  local battery = string.match(body, '"batteryId":"(%w+)","dailyMaxPrice"')
  local cabinet = string.match(body, '"cabinetId":"(%w+)"')
  local borrowing = string.match(body, '"borrowStatus":1')
  if battery and cabinet and borrowing then
    table.insert(queue, { kind = "return", cabinet = cabinet, battery = battery })
  end
end
