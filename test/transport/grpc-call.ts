/** Promise wrapper for generated grpc-js unary client methods (tests only). */
import { Metadata, type CallOptions, type Client, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

type RequestOf<C, K extends keyof C> = C[K] extends UnaryMethod<infer Req, any> ? Req : never;
type ResponseOf<C, K extends keyof C> = C[K] extends UnaryMethod<any, infer Res> ? Res : never;

export function unary<C extends Client, K extends keyof C & string>(
  client: C,
  method: K,
  request: RequestOf<C, K>,
  options: Partial<CallOptions> & { metadata?: Metadata } = {},
): Promise<ResponseOf<C, K>> {
  const { metadata = new Metadata(), ...callOptions } = options;
  return new Promise((resolve, reject) => {
    (client[method] as unknown as UnaryMethod<RequestOf<C, K>, ResponseOf<C, K>>).call(
      client,
      request,
      metadata,
      callOptions,
      (error, response) => (error ? reject(error) : resolve(response)),
    );
  });
}
