"""Protobuf wire format written by hand (for test bodies built from the .proto field numbers,
independently of the agent's C++ code): shared by the trace test, the trace benchmark and the
fuzzers' seed corpora."""


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def field(num, payload):
    """A length-delimited field (wire type 2)."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def kv(key, value):
    """An OTLP KeyValue with a string AnyValue."""
    return field(1, key.encode()) + field(2, field(1, value.encode()))
