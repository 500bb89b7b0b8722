"""Helpers the web layers share (api, control, edge), below all three: JSON bodies
(jsonio), the request's server and base URL (current), where a request comes from (site),
client disconnects (disconnect), handler registration by operationId (handlers).
Nothing here imports api, control, edge or the composition root."""
