-- GET with the demo account's Basic credentials.
wrk.headers["Authorization"] = "Basic ZGVtbzpkZW1v"
