-- wrk: every request asks for a different older page of the ticket list (`before=` one minute
-- earlier each time, ids beyond any ticket's), so no two answers are the same list.
local n = 0
local now = os.time()
request = function()
  n = n + 1
  local at = os.date("!%Y-%m-%dT%H:%M:%S.000Z", now - (n % 19000) * 60 - 60)
  return wrk.format("GET", wrk.path .. "?before=" .. at .. "_999999999")
end
