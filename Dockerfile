# Multi-stage: build with the SDK, run on the small runtime image as the non-root "app" user.
# Not built in CI (no Docker engine there); the two-command set-up in the README is the tested path.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY Worker/Worker.csproj Worker/Runtime.props Worker/
RUN dotnet restore Worker/Worker.csproj -r linux-x64
COPY Worker/ Worker/
# For a runtime, Worker/Runtime.props makes the publish self-contained with one composite ReadyToRun image of the worker
# and the framework: the worker starts on precompiled code, the framework's generics over its own types included
# (+29% on a cold drain, +21% with job state: docs/benchmarks.md). The runtime ships in /app, so the base is runtime-deps.
RUN dotnet publish Worker/Worker.csproj -c Release -r linux-x64 -o /app --no-restore

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
USER app
ENV DOTNET_ENVIRONMENT=Production
# The host drains for Worker:DrainTimeout (20 s) within a 30 s shutdown budget: give the container longer than that
# to stop (docker stop -t 40, Kubernetes terminationGracePeriodSeconds: 40).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/Worker"]
CMD ["run"]
