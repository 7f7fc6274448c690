-- POST with the query string of the URL and no body, as production clients do.
wrk.method = "POST"
wrk.headers["Authorization"] = "Basic ZGVtbzpkZW1v"
