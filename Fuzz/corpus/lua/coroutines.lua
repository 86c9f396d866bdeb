local co = coroutine.wrap(function(...) local a = {...} coroutine.yield(echo(...)) return #a end)
co(1, "two", {3})
co()
