/**
 * The smallest useful gateway: the four required kinds, all in-process. Agents on this machine
 * connect to 127.0.0.1:7400; auth runs in open mode, so listeners must stay on loopback.
 *
 *     npx openclaw-gateway start -c examples/configs/minimal.config.ts
 */
import { defineConfig } from 'openclaw-gateway';

export default defineConfig({
  gateway: { dataDir: './data' },
  plugins: [
    'registry-memory',
    'router-embedded',
    'auth-standard',
    { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: Number(process.env.OPENCLAW_GRPC_PORT ?? 7400) }] } },
  ],
});
