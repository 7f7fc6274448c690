-- O6 with its parameters and a 200 KB padding parameter in a form body, as the demo account:
-- the request journal keeps 2 KB of each body, so its memory must not follow the body size.
wrk.method = "POST"
wrk.headers["Authorization"] = "Basic ZGVtbzpkZW1v"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "coordType=WGS-84&zoomLevel=8&lat=48.86&lng=2.33&pad=" .. string.rep("x", 200000)
