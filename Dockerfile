# syntax=docker/dockerfile:1
# Build stage: install everything, compile TypeScript, then keep production dependencies only.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json tsconfig.dashboard.json ./
COPY scripts/copy-assets.mjs ./scripts/
COPY src ./src
COPY bin ./bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

# Run stage: no compiler, no dev dependencies, not root.
FROM node:24-slim
ENV NODE_ENV=production TURNOUT_LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY package.json ./
COPY config/example.yaml ./config/turnout.yaml
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
EXPOSE 8080 9901
VOLUME ["/app/data"]
# The admin listener answers /healthz without a token. Inside a container the admin address must be
# reachable by the check; with admin.host 127.0.0.1 (the default) it is.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.TURNOUT_ADMIN_PORT||9901)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/turnout.js"]
CMD ["serve", "--config", "config/turnout.yaml"]
