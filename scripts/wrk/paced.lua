-- GET with the demo account's Basic credentials, each connection asking again 10 ms after its
-- answer: a client of steady rate (about 100 requests a second per connection), whose
-- latency shows the waits its requests meet rather than the share of the CPU it can take.
wrk.headers["Authorization"] = "Basic ZGVtbzpkZW1v"
function delay()
  return 10
end
