# syntax=docker/dockerfile:1
# One image for every process of the system; compose picks the entry point per service.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.base.json tsconfig.build.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/runtime/package.json packages/runtime/
COPY packages/messaging/package.json packages/messaging/
COPY packages/client/package.json packages/client/
COPY packages/test-support/package.json packages/test-support/
COPY services/card-api/package.json services/card-api/
COPY services/provider-worker/package.json services/provider-worker/
COPY services/mock-provider/package.json services/mock-provider/
RUN npm ci --no-audit --no-fund
COPY packages packages
COPY services services
RUN npm run build
# The tests run in this stage too (docker compose run --rm test): jest's configuration and the root tsconfig.
COPY jest.config.js tsconfig.json ./

FROM node:24-bookworm-slim AS production-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/runtime/package.json packages/runtime/
COPY packages/messaging/package.json packages/messaging/
COPY packages/client/package.json packages/client/
COPY packages/test-support/package.json packages/test-support/
COPY services/card-api/package.json services/card-api/
COPY services/provider-worker/package.json services/provider-worker/
COPY services/mock-provider/package.json services/mock-provider/
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=production-deps /app/node_modules node_modules
COPY --from=production-deps /app/package.json ./
COPY --from=build /app/packages/contracts/package.json packages/contracts/
COPY --from=build /app/packages/contracts/dist packages/contracts/dist
COPY --from=build /app/packages/runtime/package.json packages/runtime/
COPY --from=build /app/packages/runtime/dist packages/runtime/dist
COPY --from=build /app/packages/messaging/package.json packages/messaging/
COPY --from=build /app/packages/messaging/dist packages/messaging/dist
COPY --from=build /app/packages/client/package.json packages/client/
COPY --from=build /app/services/card-api/package.json services/card-api/
COPY --from=build /app/services/card-api/dist services/card-api/dist
# The operator console: its html and css (its scripts are in dist/console).
COPY --from=build /app/services/card-api/console/public services/card-api/console/public
COPY --from=build /app/services/provider-worker/package.json services/provider-worker/
COPY --from=build /app/services/provider-worker/dist services/provider-worker/dist
COPY --from=build /app/services/mock-provider/package.json services/mock-provider/
COPY --from=build /app/services/mock-provider/dist services/mock-provider/dist
USER node
# Heaps sized for our live heap (about 30 MB), not the host's memory: peak RSS stays under 200 MB at twice the
# knee (docs/benchmarks.md); scripts/procs.sh and the benchmark use the same flags.
ENV NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=128"
CMD ["node", "services/card-api/dist/main-api.js"]
