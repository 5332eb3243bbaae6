-- compose.yaml: wuzapi keeps its own database beside zapwoot's, on the same server.
CREATE DATABASE wuzapi OWNER zapwoot;
