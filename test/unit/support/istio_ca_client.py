"""A non-Ambit client of Istio's CA API: python3-grpcio + python3-protobuf (Debian packages).

The request/response messages are built at run time from a hand-written descriptor with
Istio's field numbers (not from Ambit's .proto), so this checks wire compatibility.
Usage: istio_ca_client.py HOST:PORT ROOT_PEM_FILE TOKEN IDENTITY CSR_FILE
Prints one JSON line: {"ok": true, "chain": [...]} or {"ok": false, "code": ..., "details": ...}.
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, struct_pb2  # noqa: F401 (registers Struct)
from google.protobuf import message_factory

F = descriptor_pb2.FieldDescriptorProto


def message_classes():
    fdp = descriptor_pb2.FileDescriptorProto(
        name="ambit_test/istio_ca.proto", package="istio.v1.auth", syntax="proto3",
        dependency=["google/protobuf/struct.proto"])
    req = fdp.message_type.add(name="IstioCertificateRequest")
    req.field.add(name="csr", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    req.field.add(name="validity_duration", number=3, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    req.field.add(name="metadata", number=4, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                  type_name=".google.protobuf.Struct")
    resp = fdp.message_type.add(name="IstioCertificateResponse")
    resp.field.add(name="cert_chain", number=1, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
    pool = descriptor_pool.Default()
    pool.Add(fdp)
    get = getattr(message_factory, "GetMessageClass", None)
    if get is None:  # protobuf < 4.22
        factory = message_factory.MessageFactory(pool)
        get = factory.GetPrototype
    return (get(pool.FindMessageTypeByName("istio.v1.auth.IstioCertificateRequest")),
            get(pool.FindMessageTypeByName("istio.v1.auth.IstioCertificateResponse")))


def main():
    target, root_file, token, identity, csr_file = sys.argv[1:6]
    Req, Resp = message_classes()
    req = Req(csr=open(csr_file).read(), validity_duration=3600)
    req.metadata.update({"ImpersonatedIdentity": identity})
    creds = grpc.ssl_channel_credentials(root_certificates=open(root_file, "rb").read())
    # Verify the server as ztunnel does: by Istio's CA_ADDRESS host name.
    with grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", "istiod.istio-system.svc")]) as ch:
        call = ch.unary_unary("/istio.v1.auth.IstioCertificateService/CreateCertificate",
                              request_serializer=Req.SerializeToString, response_deserializer=Resp.FromString)
        try:
            resp = call(req, metadata=[("authorization", "Bearer " + token)], timeout=10)
            print(json.dumps({"ok": True, "chain": list(resp.cert_chain)}))
        except grpc.RpcError as e:
            print(json.dumps({"ok": False, "code": e.code().name, "details": e.details()}))


if __name__ == "__main__":
    main()
