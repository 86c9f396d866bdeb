string.find(string.rep("a", N % 40), string.rep("a?", N % 40) .. string.rep("a", N % 40) .. "b")
