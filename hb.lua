request = function() return wrk.format("POST", "/v1/instances/hb1/heartbeat", nil, "") end
