# syntax=docker/dockerfile:1
# The operator image: compiled JavaScript and production dependencies on Node 24 LTS, run as
# a non-root user with a read-only root filesystem in mind (nothing is written at run time).

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency pins Node for local npm scripts; the image
# already has Node 24 and needs no second copy.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN ./node_modules/.bin/tsc -p tsconfig.build.json \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY crds ./crds
# The `node` user of the official image (uid 1000); numeric so runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080 8081
ENTRYPOINT ["node", "--enable-source-maps", "dist/cli/main.js"]
CMD ["run"]
