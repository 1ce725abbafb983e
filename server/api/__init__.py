"""gRPC adapters: the only package that knows protobuf and grpc."""
