// Config validation: a table of bad inputs, each failing with a message naming the key, the value and
// what is allowed; every problem reported at once; and the program refusing before any resource.

import * as assert from "assert/strict";
import { z } from "zod";
import { CONFIG, ConfigValidationError, SETTING_KEYS, resolveConfig } from "../../stacks/config";
import { SecretKeyState, splitConfig } from "../../stacks/sections/entries";
import { identityChangeProblems, previousRedisWorkload } from "../../stacks/sections/identity";
import { imageTag } from "../../stacks/sections/images";
import { parse as configValue } from "../../stacks/load";
import { SECRET_KEYS } from "../../stacks/secrets";
import { parseQuantity } from "../../stacks/reader";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { FAKE_SECRETS, ROOT, lastRun, runProgram, stackConfig } from "./harness";

type Raw = Record<string, unknown>;

/** A deep copy of a committed stack's config with `edit` applied. */
function edited(stack: string, edit: (c: Raw) => void): Raw {
    const c = JSON.parse(JSON.stringify(stackConfig(stack))) as Raw;
    edit(c);
    return c;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const svc = (c: Raw, name: string): any => (c.services as Raw)[name];

/** The stack installs prometheus-adapter, so a service may list podsMetrics (dev's kube-prometheus-stack is its Prometheus). */
const customMetricsServed = (c: Raw) => { (c.addons as Raw).prometheusAdapter = { enabled: true }; };

const ALL_SECRETS: SecretKeyState = { set: Object.keys(FAKE_SECRETS), plaintext: [] };

function problemsOf(stack: string, raw: Raw, secrets = ALL_SECRETS): readonly string[] {
    try {
        resolveConfig(stack, raw, secrets);
    } catch (e) {
        assert.ok(e instanceof ConfigValidationError, `expected ConfigValidationError, got ${e}`);
        return e.problems;
    }
    return [];
}

const BAD_INPUTS: { what: string; stack: string; edit: (c: Raw) => void; problem: string }[] = [
    {
        what: "a negative replica count", stack: "staging",
        edit: (c) => { svc(c, "frontend").replicas = -1; },
        problem: "services.frontend.replicas: -1 is not allowed: must be an integer from 0 to 2147483647",
    },
    {
        what: "HPA min above max", stack: "prod",
        edit: (c) => { svc(c, "backend").autoscaling.minReplicas = 25; },
        problem: "services.backend.autoscaling.minReplicas: 25 is not allowed: must not exceed maxReplicas (20)",
    },
    {
        // Found by the API-server oracle (seed 7): two volumes and mounts of one name.
        what: "a writable path listed twice", stack: "dev",
        edit: (c) => { svc(c, "backend").writablePaths = ["/tmp", "/var/cache/app", "/var/cache/app"]; },
        problem: "services.backend.writablePaths: \"/var/cache/app\" is not allowed: must be listed once",
    },
    {
        what: "two writable paths that name the same volume", stack: "dev",
        edit: (c) => { svc(c, "backend").writablePaths = ["/var/cache", "/var_cache"]; },
        problem: "services.backend.writablePaths: \"/var_cache\" is not allowed: must not name the same volume as \"/var/cache\" (var-cache); list one of them",
    },
    {
        what: "an unknown top-level key", stack: "dev",
        edit: (c) => { c.replicas = 3; },
        problem: "replicas: 3 is not allowed: unknown key; known keys here:",
    },
    {
        what: "an unknown service field", stack: "dev",
        edit: (c) => { svc(c, "backend").replica = 2; },
        problem: "services.backend.replica: 2 is not allowed: unknown key; known keys here:",
    },
    {
        what: "an image tagged latest in staging", stack: "staging",
        edit: (c) => { svc(c, "backend").image = "registry.yourdomain.com/kaizen-studio-backend:latest"; },
        problem: "services.backend.image: \"registry.yourdomain.com/kaizen-studio-backend:latest\" is not allowed: must be pinned to a version tag or digest in this environment (not 'latest', not untagged)",
    },
    {
        what: "an untagged image in prod", stack: "prod",
        edit: (c) => { svc(c, "frontend").image = "registry.yourdomain.com:5000/kaizen-studio-web"; },
        problem: "services.frontend.image: \"registry.yourdomain.com:5000/kaizen-studio-web\" is not allowed: must be pinned",
    },
    {
        what: "an invalid hostname", stack: "dev",
        edit: (c) => { c.domain = "Dev_Host.example"; },
        problem: "domain: \"Dev_Host.example\" is not allowed: must be a lower-case DNS hostname such as app.example.com",
    },
    {
        what: "an invalid quantity", stack: "dev",
        edit: (c) => { svc(c, "backend").resources.limits.memory = "512MB"; },
        problem: "services.backend.resources.limits.memory: \"512MB\" is not allowed: must be a Kubernetes quantity such as 500m, 2, 256Mi or 10Gi",
    },
    {
        what: "requests above limits", stack: "dev",
        edit: (c) => { svc(c, "backend").resources.requests.cpu = "2"; },
        problem: "services.backend.resources.requests.cpu: \"2\" is not allowed: must not exceed limits.cpu (500m)",
    },
    {
        what: "a missing environment", stack: "dev",
        edit: (c) => { delete c.environment; },
        problem: "environment: is required: one of dev, staging, prod",
    },
    {
        what: "an unknown environment", stack: "dev",
        edit: (c) => { c.environment = "qa"; },
        problem: "environment: \"qa\" is not allowed: must be one of dev, staging, prod",
    },
    {
        what: "a missing image", stack: "dev",
        edit: (c) => { delete svc(c, "frontend").image; },
        problem: "services.frontend.image: is required: an image reference",
    },
    {
        what: "a PDB that would block every eviction", stack: "prod",
        edit: (c) => { svc(c, "backend").pdbMinAvailable = 3; },
        problem: "services.backend.pdbMinAvailable: 3 is not allowed: must be less than the minimum replica count (3)",
    },
    {
        what: "a use of a disabled data service", stack: "dev",
        edit: (c) => { (c.redis as Raw).enabled = false; },
        problem: "services.backend.uses: \"redis\" is not allowed: needs redis.enabled: true",
    },
    {
        what: "a use of an unknown service", stack: "dev",
        edit: (c) => { svc(c, "frontend").uses = ["api"]; },
        problem: "services.frontend.uses: \"api\" is not allowed: must name a data service (postgres, redis, kafka, minio) or another service (backend, frontend)",
    },
    {
        what: "two services on one ingress path", stack: "dev",
        edit: (c) => { svc(c, "frontend").ingressPath = "/api"; },
        problem: "services.frontend.ingressPath: \"/api\" is not allowed: must be unique; 'backend' already routes it",
    },
    {
        what: "a port out of range", stack: "dev",
        edit: (c) => { svc(c, "backend").port = 70000; },
        problem: "services.backend.port: 70000 is not allowed: must be an integer from 1 to 65535",
    },
    {
        what: "a secretEnv naming no app secret", stack: "dev",
        edit: (c) => { svc(c, "backend").secretEnv.push({ name: "API_TOKEN", from: "apiToken" }); },
        problem: "services.backend.secretEnv[2].from: \"apiToken\" is not allowed: must be one of postgresPassword, redisPassword,",
    },
    {
        what: "a secretEnv variable set twice", stack: "dev",
        edit: (c) => { svc(c, "backend").secretEnv.push({ name: "ENCRYPTION_KEY", from: "jwtSecret" }); },
        problem: "services.backend.secretEnv[2].name: \"ENCRYPTION_KEY\" is not allowed: must be unique in secretEnv",
    },
    {
        what: "a secretEnv naming a secret the stack does not have", stack: "dev",
        edit: (c) => { svc(c, "backend").secretEnv.push({ name: "JWT_PRIVATE_KEY", from: "jwtPrivateKey" }); },
        problem: "services.backend.secretEnv[2].from: \"jwtPrivateKey\" is not allowed: must be a secret this stack has; jwtPrivateKey is the RS256 JWT signing key, PEM (stacks with jwtAlgorithm RS256)",
    },
    {
        what: "an alert ratio above 1", stack: "dev",
        edit: (c) => { (c.monitoring as Raw).alerts = { errorRateRatio: 5 }; },
        problem: "monitoring.alerts.errorRateRatio: 5 is not allowed: must be a ratio greater than 0 and at most 1",
    },
    {
        what: "monitoring on while nothing installs the prometheus-operator CRDs", stack: "dev",
        edit: (c) => { (c.addons as Raw).kubePrometheusStack = { enabled: false }; },
        problem: "monitoring.enabled: true is not allowed: needs the prometheus-operator CRDs (ServiceMonitor, PrometheusRule): set addons.kubePrometheusStack.enabled: true, or monitoring.crdsFromCluster: true where the cluster already has them, or monitoring.enabled: false",
    },
    {
        what: "a TLS version older than 1.2 at the ingress controller", stack: "dev",
        edit: (c) => { (c.addons as Raw).ingressNginx = { enabled: true, sslProtocols: ["TLSv1.1", "TLSv1.3"] }; },
        problem: 'addons.ingressNginx.sslProtocols: ["TLSv1.1","TLSv1.3"] is not allowed: must list one or both of TLSv1.2, TLSv1.3, each once (TLS 1.0 and 1.1 are not offered)',
    },
    {
        what: "no TLS version at the ingress controller", stack: "dev",
        edit: (c) => { (c.addons as Raw).ingressNginx = { enabled: true, sslProtocols: [] }; },
        problem: "addons.ingressNginx.sslProtocols: [] is not allowed: must list one or both of TLSv1.2, TLSv1.3, each once (TLS 1.0 and 1.1 are not offered)",
    },
    {
        what: "insecure kubelet TLS in prod", stack: "prod",
        edit: (c) => { (c.addons as Raw).metricsServer = { enabled: true, kubeletInsecureTls: true }; },
        problem: "addons.metricsServer.kubeletInsecureTls: true is not allowed: must be false in prod",
    },
    {
        what: "a null alert receiver in prod", stack: "prod",
        edit: (c) => { (c.addons as Raw).kubePrometheusStack = { enabled: true, routeAlerts: false }; },
        problem: "addons.kubePrometheusStack.routeAlerts: false is not allowed: must be true in prod",
    },
    {
        what: "a chart version range", stack: "dev",
        edit: (c) => { (c.addons as Raw).ingressNginx = { enabled: true, version: "^4.0.0" }; },
        problem: "addons.ingressNginx.version: \"^4.0.0\" is not allowed: must be an exact chart version such as 4.13.3",
    },
    {
        what: "a chart repository that is not a URL", stack: "dev",
        edit: (c) => { (c.addons as Raw).certManager = { enabled: true, acmeEmail: "a@b.io", repository: "charts.internal" }; },
        problem: "addons.certManager.repository: \"charts.internal\" is not allowed: must be an http(s):// or oci:// URL",
    },
    {
        what: "cert-manager issuers without an ACME email", stack: "dev",
        edit: (c) => { (c.addons as Raw).certManager = { enabled: true }; },
        problem: "addons.certManager.acmeEmail: is required: an ACME account email",
    },
    {
        what: "a quota too small for the autoscaler's maximum", stack: "prod",
        edit: (c) => { c.quota = { requestsCpu: "8" }; },
        problem: "quota.requestsCpu: \"8\" is not allowed: must hold the workloads' CPU requests at full scale plus one rollout surge pod each (11520m: backend 21 pods, frontend 3 pods, postgres 1 pods, redis 1 pods, postgres-backup 1 pods); raise it or lower replicas/maxReplicas",
    },
    {
        what: "a pod quota below full scale", stack: "staging",
        edit: (c) => { c.quota = { pods: 8 }; },
        problem: "quota.pods: 8 is not allowed: must hold 11 pods (every workload at full scale plus one rollout surge pod each)",
    },
    {
        what: "a namespace that is not a DNS label", stack: "dev",
        edit: (c) => { c.namespace = "Kaizen"; },
        problem: "namespace: \"Kaizen\" is not allowed: must be a DNS label",
    },
    {
        what: "a managed ingress controller without the add-on that installs it", stack: "dev",
        edit: (c) => { (c.addons as Raw).ingressNginx = { enabled: false }; c.ingress = { controller: { mode: "managed" } }; },
        problem: "ingress.controller.mode: \"managed\" is not allowed: needs addons.ingressNginx.enabled: true (the controller this stack installs); use mode: external for a controller installed outside this stack",
    },
    {
        what: "an external ingress controller while the stack installs its own", stack: "dev",
        edit: (c) => { c.ingress = { securityHeaders: false, controller: { mode: "external" } }; },
        problem: "ingress.controller.mode: \"external\" is not allowed: contradicts addons.ingressNginx.enabled: true",
    },
    {
        what: "an allow-list for the managed controller, whose list the program sets", stack: "dev",
        edit: (c) => { c.ingress = { controller: { allowedResponseHeaders: ["X-Frame-Options"] } }; },
        problem: "ingress.controller.allowedResponseHeaders: [\"X-Frame-Options\"] is not allowed: is set by the program for the managed controller; only mode: external takes it",
    },
    {
        what: "an external controller that would answer 503 for the Ingress's headers", stack: "dev",
        edit: (c) => {
            (c.addons as Raw).ingressNginx = { enabled: false };
            c.ingress = { controller: { allowedResponseHeaders: ["x-frame-options", "Content-Security-Policy"], sendsHsts: false } };
        },
        problem: "ingress.controller.allowedResponseHeaders: [\"x-frame-options\",\"Content-Security-Policy\"] is not allowed: must list X-Content-Type-Options, Referrer-Policy, Strict-Transport-Security: the Ingress sets them through the custom-headers annotation, and ingress-nginx answers 503 on every path of an Ingress that sets a header missing from its global-allowed-response-headers",
    },
    {
        what: "a secretEnv naming a stack secret that is not declared", stack: "dev",
        edit: (c) => { c.secrets = { custom: { stripeApiKey: "password" } }; svc(c, "backend").secretEnv.push({ name: "SESSION", from: "sessionSecret" }); },
        problem: "services.backend.secretEnv[2].from: \"sessionSecret\" is not allowed: must be one of postgresPassword, redisPassword, minioRootPassword, jwtSecret, jwtPrivateKey, jwtPublicKey, encryptionKey, checksumKey, grafanaAdminPassword, alertWebhookUrl, azureAdClientId, azureAdClientSecret, stripeApiKey",
    },
    {
        what: "a stack secret of an unknown kind", stack: "dev",
        edit: (c) => { c.secrets = { custom: { stripeApiKey: "rsa" } }; },
        problem: "secrets.custom.stripeApiKey: \"rsa\" is not allowed: must be one of password, external",
    },
    {
        what: "a stack secret that would shadow another config key", stack: "dev",
        edit: (c) => { c.secrets = { custom: { domain: "external" } }; },
        problem: "secrets.custom.domain: \"external\" is not allowed: must not reuse 'domain', which is already a config key of this project",
    },
    {
        what: "a stack secret under a key Pulumi config cannot hold", stack: "dev",
        edit: (c) => { c.secrets = { custom: { "stripe-key": "external" } }; },
        problem: "secrets.custom.stripe-key: \"external\" is not allowed: must be declared under a camelCase config key",
    },
    {
        what: "a PostgreSQL image tag that moves with every release, in prod", stack: "prod",
        edit: (c) => { c.postgres = { ...(c.postgres as Raw), image: "postgres:15-alpine" }; },
        problem: "postgres.image: \"postgres:15-alpine\" is not allowed: must name an exact PostgreSQL release in this environment (a tag such as 15.10-alpine, or a digest): '15-alpine' moves to every new release",
    },
    {
        what: "a Redis minor-version tag in staging", stack: "staging",
        edit: (c) => { c.redis = { ...(c.redis as Raw), image: "redis:7.2-alpine" }; },
        problem: "redis.image: \"redis:7.2-alpine\" is not allowed: must name an exact Redis release in this environment (a tag such as 7.2.7-alpine, or a digest): '7.2-alpine' moves to every new release",
    },
    // Issue 11: what the API server or the runtime would refuse, refused here first.
    {
        what: "a service name the API server refuses for a Service (DNS-1035: leading letter)", stack: "dev",
        edit: (c) => { (c.services as Raw)["1api"] = { image: "example/api:1.0.0" }; },
        problem: "services.1api: \"1api\" is not allowed: service names must be DNS-1035 labels",
    },
    {
        what: "an ingress path with an empty segment", stack: "dev",
        edit: (c) => { svc(c, "backend").ingressPath = "/api//v1"; },
        problem: "services.backend.ingressPath: \"/api//v1\" is not allowed: must be a normalised URL path prefix",
    },
    {
        what: "an ingress path with a '..' segment", stack: "dev",
        edit: (c) => { svc(c, "backend").ingressPath = "/api/../admin"; },
        problem: "services.backend.ingressPath: \"/api/../admin\" is not allowed: must be a normalised URL path prefix",
    },
    {
        what: "an image with an upper-case repository", stack: "dev",
        edit: (c) => { svc(c, "backend").image = "registry.example.com/Team/app:v1"; },
        problem: "services.backend.image: \"registry.example.com/Team/app:v1\" is not allowed: must be an image reference",
    },
    {
        what: "an image with two tags", stack: "dev",
        edit: (c) => { svc(c, "backend").image = "example/app:v1:v2"; },
        problem: "services.backend.image: \"example/app:v1:v2\" is not allowed: must be an image reference",
    },
    {
        what: "an IP address as the Ingress host", stack: "dev",
        edit: (c) => { c.ingress = { host: "10.0.0.1" }; },
        problem: "ingress.host: \"10.0.0.1\" is not allowed: must be a lower-case DNS hostname such as app.example.com (not an IP address)",
    },
    {
        what: "a peer label value over 63 characters", stack: "dev",
        edit: (c) => { c.network = { prometheusPodLabels: { app: "x".repeat(64) } }; },
        problem: "network.prometheusPodLabels.app: \"xxxx",
    },
    {
        what: "a peer label key with a space", stack: "dev",
        edit: (c) => { c.network = { dnsPodLabels: { "k8s app": "kube-dns" } }; },
        problem: "network.dnsPodLabels: \"k8s app\" is not allowed: keys must be a label key",
    },
    {
        what: "a StorageClass name the API server refuses", stack: "dev",
        edit: (c) => { c.postgres = { ...(c.postgres as Raw), storageClass: "Fast_SSD" }; },
        problem: "postgres.storageClass: \"Fast_SSD\" is not allowed: must be a DNS subdomain",
    },
    {
        what: "a zero-sized volume", stack: "dev",
        edit: (c) => { c.redis = { ...(c.redis as Raw), storageSize: "0" }; },
        problem: "redis.storageSize: \"0\" is not allowed: must be a Kubernetes quantity greater than zero",
    },
    {
        what: "an env key with a space (it becomes a ConfigMap key)", stack: "dev",
        edit: (c) => { svc(c, "backend").env = { "MY VAR": "x" }; },
        problem: "services.backend.env: \"MY VAR\" is not allowed: keys must be a ConfigMap key",
    },
    {
        what: "a service named like the namespace's default-deny policy", stack: "dev",
        edit: (c) => { (c.services as Raw)["default-deny-all"] = { image: "example/api:1.0.0" }; },
        problem: "services.default-deny-all: \"default-deny-all\" is not allowed: must not produce the NetworkPolicy name 'default-deny-all', which the program uses for its own object",
    },
    {
        what: "a service named like PostgreSQL's headless Service", stack: "dev",
        edit: (c) => { (c.services as Raw)["postgres-headless"] = { image: "example/api:1.0.0" }; },
        problem: "services.postgres-headless: \"postgres-headless\" is not allowed: must not produce the Service name 'postgres-headless', which the program uses for its own object",
    },
    {
        what: "a service named like Redis's headless Service, with Redis as a StatefulSet", stack: "dev",
        edit: (c) => { c.redis = { enabled: true, workload: "statefulset" }; (c.services as Raw)["redis-headless"] = { image: "example/api:1.0.0" }; },
        problem: "services.redis-headless: \"redis-headless\" is not allowed: must not produce the Service name 'redis-headless', which the program uses for its own object",
    },
    {
        what: "a Redis workload kind that does not exist", stack: "dev",
        edit: (c) => { c.redis = { enabled: true, workload: "sts" }; },
        problem: "redis.workload: \"sts\" is not allowed: must be one of deployment, statefulset",
    },
    {
        what: "the app in an add-on's namespace", stack: "dev",
        edit: (c) => { c.namespace = "monitoring"; },
        problem: "namespace: \"monitoring\" is not allowed: must be the app's own namespace, not Prometheus's namespace",
    },
    {
        what: "the app in kube-system", stack: "dev",
        edit: (c) => { c.namespace = "kube-system"; },
        problem: "namespace: \"kube-system\" is not allowed: must be the app's own namespace, not the cluster's system namespace",
    },
    {
        what: "a LimitRange default request above its default limit", stack: "dev",
        edit: (c) => { c.quota = { defaultRequest: { cpu: "2" }, defaultLimit: { cpu: "1" } }; },
        problem: "quota.defaultRequest.cpu: \"2\" is not allowed: must not exceed quota.defaultLimit.cpu (1): the API server refuses such a LimitRange",
    },
    {
        what: "a claim quota below the stack's claims", stack: "dev",
        edit: (c) => { c.quota = { persistentVolumeClaims: 1 }; },
        problem: "quota.persistentVolumeClaims: 1 is not allowed: must hold the stack's 2 volume claims (PostgreSQL and Redis data)",
    },
    {
        what: "a storage quota below the stack's claims", stack: "dev",
        edit: (c) => { c.quota = { requestsStorage: "20Gi" }; },
        problem: "quota.requestsStorage: \"20Gi\" is not allowed: must hold the stack's volume claims (60Gi: 50Gi + 10Gi)",
    },
    {
        what: "a PostgreSQL setting value that would add a line to postgresql.conf", stack: "dev",
        edit: (c) => { c.postgres = { ...(c.postgres as Raw), settings: { work_mem: "8MB\nlisten_addresses = '*'" } }; },
        problem: "postgres.settings.work_mem: \"8MB\\nlisten_addresses = '*'\" is not allowed: must be a single-line postgresql.conf value",
    },
    {
        what: "a content security policy with a quote", stack: "dev",
        edit: (c) => { c.ingress = { contentSecurityPolicy: "default-src 'self\"; more_set_headers" }; },
        problem: "ingress.contentSecurityPolicy: \"default-src 'self\\\"; more_set_headers\" is not allowed: must be a header value without quotes, backslashes or line breaks",
    },
    {
        what: "a health path without its leading slash, reported where it is set", stack: "dev",
        edit: (c) => { svc(c, "backend").healthPath = "health"; },
        problem: "services.backend.healthPath: \"health\" is not allowed: must be an HTTP path starting with '/'",
    },
    {
        what: "a replica count beyond what Kubernetes stores", stack: "dev",
        edit: (c) => { svc(c, "frontend").replicas = 1e20; },
        problem: "services.frontend.replicas: 100000000000000000000 is not allowed: must be an integer from 0 to 2147483647",
    },
    {
        what: "a service named after a data service, blamed alone", stack: "dev",
        edit: (c) => { (c.services as Raw).redis = { image: "example/api:1.0.0" }; },
        problem: "services.redis: \"redis\" is not allowed: 'postgres', 'redis', 'kafka' and 'minio' are reserved for the data services",
    },
    // Autoscaling beyond CPU and memory (seed 003's custom metric and behavior), and the data services, which cannot scale.
    {
        what: "a custom metric name with a '/' (the API server refuses it)", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.podsMetrics = [{ name: "http/requests", averageValue: "1000" }]; customMetricsServed(c); },
        problem: "services.backend.autoscaling.podsMetrics[0].name: \"http/requests\" is not allowed: must be a metric name such as http_requests_per_second (not '.' or '..', no '/' or '%')",
    },
    {
        what: "a custom metric target of zero", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.podsMetrics = [{ name: "http_requests_per_second", averageValue: "0" }]; customMetricsServed(c); },
        problem: "services.backend.autoscaling.podsMetrics[0].averageValue: \"0\" is not allowed: must be a Kubernetes quantity greater than zero, such as 1000 or 500m",
    },
    {
        what: "a custom metric without a target", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.podsMetrics = [{ name: "http_requests_per_second" }]; customMetricsServed(c); },
        problem: "services.backend.autoscaling.podsMetrics[0].averageValue: is required: the target average per pod, a quantity such as 1000 or 500m",
    },
    {
        what: "a custom metric listed twice", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.podsMetrics = [{ name: "rps", averageValue: 1000 }, { name: "rps", averageValue: "500" }]; customMetricsServed(c); },
        problem: "services.backend.autoscaling.podsMetrics[1].name: \"rps\" is not allowed: must be unique in podsMetrics",
    },
    // The custom metrics API those metrics are read from (the prometheus-adapter add-on, or the cluster's own).
    {
        what: "a custom metric with no server of the custom metrics API", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.podsMetrics = [{ name: "http_requests_per_second", averageValue: "1000" }]; },
        problem: "services.backend.autoscaling.podsMetrics: [\"http_requests_per_second\"] is not allowed: needs a server of the custom metrics API (custom.metrics.k8s.io) to read them from: " +
            "set addons.prometheusAdapter.enabled: true, or addons.prometheusAdapter.fromCluster: true where the cluster already serves that API; without one the HPA never scales down (FailedGetPodsMetric)",
    },
    {
        what: "the prometheus-adapter add-on with no Prometheus to query", stack: "dev",
        edit: (c) => {
            (c.addons as Raw).kubePrometheusStack = { enabled: false };
            (c.monitoring as Raw).crdsFromCluster = true;
            customMetricsServed(c);
        },
        problem: "addons.prometheusAdapter.prometheusUrl: is required: the URL of the Prometheus the adapter queries, such as http://prometheus-operated.monitoring.svc:9090, " +
            "or addons.kubePrometheusStack.enabled: true, whose Prometheus it queries by default",
    },
    {
        what: "a custom metric of a service Prometheus does not scrape (no metricsPath), read by the stack's adapter", stack: "dev",
        edit: (c) => {
            svc(c, "backend").autoscaling.podsMetrics = [{ name: "http_requests_per_second", averageValue: "1000" }];
            delete svc(c, "backend").metricsPath;
            customMetricsServed(c);
        },
        problem: "services.backend.autoscaling.podsMetrics: [\"http_requests_per_second\"] is not allowed: needs services.backend.metricsPath and monitoring.enabled: true: " +
            "the prometheus-adapter add-on reads the metrics from the stack's Prometheus, which scrapes only services with a metricsPath; without them the HPA never scales down (FailedGetPodsMetric)",
    },
    {
        what: "the prometheus-adapter add-on and the cluster's own custom metrics API at once", stack: "dev",
        edit: (c) => { (c.addons as Raw).prometheusAdapter = { enabled: true, fromCluster: true }; },
        problem: "addons.prometheusAdapter.fromCluster: true is not allowed: must not be set with addons.prometheusAdapter.enabled: true: the custom metrics API " +
            "(APIService v1beta1.custom.metrics.k8s.io) has one server per cluster, so either this stack installs the adapter or the cluster already serves the API",
    },
    {
        what: "a Prometheus URL with credentials in it", stack: "dev",
        edit: (c) => { (c.addons as Raw).prometheusAdapter = { enabled: true, prometheusUrl: "http://admin:pw@prometheus.monitoring.svc:9090" }; },
        problem: "addons.prometheusAdapter.prometheusUrl: \"http://admin:pw@prometheus.monitoring.svc:9090\" is not allowed: " +
            "must be an http(s) URL of Prometheus such as http://prometheus-operated.monitoring.svc:9090 (no credentials, query or fragment)",
    },
    {
        what: "a custom metric name the prometheus-adapter add-on cannot serve", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.podsMetrics = [{ name: "custom.googleapis.com|rps", averageValue: "5" }]; customMetricsServed(c); },
        problem: "services.backend.autoscaling.podsMetrics[0].name: \"custom.googleapis.com|rps\" is not allowed: " +
            "must be a Prometheus metric name (letters, digits, '_' and ':', not starting with a digit) for the prometheus-adapter add-on to serve it",
    },
    {
        what: "the app in the prometheus-adapter add-on's namespace", stack: "dev",
        edit: (c) => { c.namespace = "adapter"; (c.addons as Raw).prometheusAdapter = { enabled: true, namespace: "adapter" }; },
        problem: "namespace: \"adapter\" is not allowed: must be the app's own namespace, not the prometheus-adapter add-on's namespace",
    },
    {
        what: "a stabilization window over an hour", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.behavior = { scaleUp: { stabilizationWindowSeconds: 3601 } }; },
        problem: "services.backend.autoscaling.behavior.scaleUp.stabilizationWindowSeconds: 3601 is not allowed: must be an integer from 0 to 3600",
    },
    {
        what: "a scaling policy period over 30 minutes", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.behavior = { scaleDown: { policies: [{ type: "Percent", value: 50, periodSeconds: 1801 }] } }; },
        problem: "services.backend.autoscaling.behavior.scaleDown.policies[0].periodSeconds: 1801 is not allowed: must be an integer from 1 to 1800",
    },
    {
        what: "a scaling policy without a period", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.behavior = { scaleDown: { policies: [{ type: "Percent", value: 50 }] } }; },
        problem: "services.backend.autoscaling.behavior.scaleDown.policies[0].periodSeconds: is required: the period in seconds, 1 to 1800",
    },
    {
        what: "a scaling policy of zero", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.behavior = { scaleUp: { policies: [{ type: "Pods", value: 0, periodSeconds: 15 }] } }; },
        problem: "services.backend.autoscaling.behavior.scaleUp.policies[0].value: 0 is not allowed: must be an integer from 1 to 2147483647",
    },
    {
        what: "a scaling policy type in the wrong case", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.behavior = { scaleUp: { policies: [{ type: "percent", value: 100, periodSeconds: 15 }] } }; },
        problem: "services.backend.autoscaling.behavior.scaleUp.policies[0].type: \"percent\" is not allowed: must be one of Pods, Percent",
    },
    {
        what: "an unknown selectPolicy", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.behavior = { scaleDown: { selectPolicy: "Maximum" } }; },
        problem: "services.backend.autoscaling.behavior.scaleDown.selectPolicy: \"Maximum\" is not allowed: must be one of Max, Min, Disabled",
    },
    {
        what: "an empty list of scaling policies", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.behavior = { scaleDown: { policies: [] } }; },
        problem: "services.backend.autoscaling.behavior.scaleDown.policies: [] is not allowed: must list at least one policy {type, value, periodSeconds}: the API server refuses an empty list",
    },
    {
        what: "two different scale-down windows (the shorthand and behavior)", stack: "dev",
        edit: (c) => { svc(c, "backend").autoscaling.behavior = { scaleDown: { stabilizationWindowSeconds: 600 } }; },
        problem: "services.backend.autoscaling.behavior.scaleDown.stabilizationWindowSeconds: 600 is not allowed: must equal scaleDownStabilizationSeconds (300), which sets the same field; set one of them",
    },
    {
        what: "autoscaling on PostgreSQL", stack: "dev",
        edit: (c) => { (c.postgres as Raw).autoscaling = { minReplicas: 1, maxReplicas: 3 }; },
        problem: "postgres.autoscaling: {\"minReplicas\":1,\"maxReplicas\":3} is not allowed: PostgreSQL here is a single primary (one writer on a ReadWriteOnce volume) and cannot autoscale: " +
            "an HPA would start a second writer on the same data or a replica with an empty volume. Scale the services that use it instead; for high availability use read replicas, a managed database or an operator",
    },
    {
        what: "autoscaling on Redis", stack: "prod",
        edit: (c) => { (c.redis as Raw).autoscaling = { minReplicas: 1, maxReplicas: 3, cpuUtilization: 75 }; },
        problem: "redis.autoscaling: {\"minReplicas\":1,\"maxReplicas\":3,\"cpuUtilization\":75} is not allowed: Redis here is a single primary (one writer on a ReadWriteOnce volume) and cannot autoscale: " +
            "an HPA would start a second writer on the same data or a replica with an empty volume. Scale the services that use it instead; for high availability use read replicas, a managed database or an operator",
    },
    {
        what: "two PostgreSQL replicas", stack: "staging",
        edit: (c) => { (c.postgres as Raw).replicas = 2; },
        problem: "postgres.replicas: 2 is not allowed: must be 1: PostgreSQL here is a single primary (one writer on a ReadWriteOnce volume), and a second replica would be a second writer on the same data " +
            "or a replica with an empty volume. Scale the services that use it instead; for high availability use read replicas, a managed database or an operator",
    },
    {
        what: "three Redis replicas", stack: "dev",
        edit: (c) => { (c.redis as Raw).replicas = 3; },
        problem: "redis.replicas: 3 is not allowed: must be 1: Redis here is a single primary (one writer on a ReadWriteOnce volume), and a second replica would be a second writer on the same data " +
            "or a replica with an empty volume. Scale the services that use it instead; for high availability use read replicas, a managed database or an operator",
    },
    // A service's Role (services.<name>.rbac) and its way to the API server.
    {
        what: "a Role for a service whose pods could not reach the API server", stack: "dev",
        edit: (c) => { svc(c, "backend").rbac = [{ resources: ["configmaps"], verbs: ["get"] }]; },
        problem: "services.backend.rbac: \"1 rule(s)\" is not allowed: needs network.apiServerCidrs, the API server's endpoint addresses its pods may reach (kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes), because the namespace denies all other egress",
    },
    {
        what: "an API server address that is not a CIDR", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.96.0.1"] }; },
        problem: "network.apiServerCidrs: \"10.96.0.1\" is not allowed: must be a CIDR such as 10.0.0.10/32 or fd00::1/128",
    },
    {
        what: "API server ports out of range", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.96.0.1/32"], apiServerPorts: [443, 70000] }; },
        problem: "network.apiServerPorts[1]: 70000 is not allowed: must be an integer from 1 to 65535",
    },
    {
        what: "rbac that is not a list", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = { resources: ["configmaps"], verbs: ["get"] }; },
        problem: "services.backend.rbac: {\"resources\":[\"configmaps\"],\"verbs\":[\"get\"]} is not allowed: must be a list",
    },
    {
        what: "an RBAC verb that lets the service raise its own permissions", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = [{ resources: ["roles"], apiGroups: ["rbac.authorization.k8s.io"], verbs: ["get", "escalate"] }]; },
        problem: "services.backend.rbac[0].verbs: \"escalate\" is not allowed: must be one of get, list, watch, create, update, patch, delete, deletecollection, *",
    },
    {
        what: "an RBAC verb Kubernetes does not have", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = [{ resources: ["configmaps"], verbs: ["read"] }]; },
        problem: "services.backend.rbac[0].verbs: \"read\" is not allowed: must be one of get, list, watch, create, update, patch, delete, deletecollection, *",
    },
    {
        what: "an RBAC resource written as its kind", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = [{ resources: ["ConfigMap"], verbs: ["get"] }]; },
        problem: "services.backend.rbac[0].resources: \"ConfigMap\" is not allowed: must be a resource's lower-case plural name such as configmaps, optionally with a subresource such as pods/log; \"*\" for every one",
    },
    {
        what: "an empty RBAC resource", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = [{ resources: ["configmaps", ""], verbs: ["get"] }]; },
        problem: "services.backend.rbac[0].resources: \"\" is not allowed: must be a resource's lower-case plural name such as configmaps, optionally with a subresource such as pods/log; \"*\" for every one",
    },
    {
        what: "an RBAC API group that is not a DNS subdomain", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = [{ apiGroups: ["Apps"], resources: ["deployments"], verbs: ["get"] }]; },
        problem: "services.backend.rbac[0].apiGroups: \"Apps\" is not allowed: must be an API group: \"\" (the core group), \"*\", or a DNS subdomain such as apps or coordination.k8s.io",
    },
    {
        what: "an empty list of RBAC API groups (the rule would match nothing)", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = [{ apiGroups: [], resources: ["configmaps"], verbs: ["get"] }]; },
        problem: "services.backend.rbac[0].apiGroups: [] is not allowed: must list at least one API group (\"\" is the core group), or be left out for [\"\"]",
    },
    {
        what: "an RBAC rule without resources", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = [{ verbs: ["get"] }]; },
        problem: "services.backend.rbac[0].resources: is required: the resource types the service may use, such as [configmaps] or [pods, pods/log]",
    },
    {
        what: "an RBAC rule with an empty list of verbs", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = [{ resources: ["configmaps"], verbs: [] }]; },
        problem: "services.backend.rbac[0].verbs: is required: what the service may do with them: get, list, watch, create, update, patch, delete, deletecollection, *",
    },
    {
        what: "every verb on every resource (namespace admin)", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = [{ resources: ["configmaps"], verbs: ["get"] }, { resources: ["*"], verbs: ["*"] }]; },
        problem: "services.backend.rbac[1].resources: [\"*\"] is not allowed: must not be \"*\" together with verbs \"*\": that is namespace admin over those API groups (in the core group: every Secret, exec into every pod); list the resources the service needs",
    },
    {
        what: "an empty RBAC resource name", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = [{ resources: ["configmaps"], verbs: ["get"], resourceNames: [""] }]; },
        problem: "services.backend.rbac[0].resourceNames: \"\" is not allowed: must be object names, not empty",
    },
    {
        what: "non-resource URLs, which a namespaced Role cannot grant", stack: "dev",
        edit: (c) => { c.network = { apiServerCidrs: ["10.0.0.1/32"] }; svc(c, "backend").rbac = [{ resources: ["configmaps"], verbs: ["get"], nonResourceURLs: ["/healthz"] }]; },
        problem: "services.backend.rbac[0].nonResourceURLs: [\"/healthz\"] is not allowed: unknown key; known keys here: apiGroups, resourceNames, resources, verbs",
    },
    // Scheduling (services.<name>.nodeSelector, tolerations).
    {
        what: "a node selector key with a space", stack: "dev",
        edit: (c) => { svc(c, "backend").nodeSelector = { "node pool": "spot" }; },
        problem: "services.backend.nodeSelector: \"node pool\" is not allowed: keys must be a label key: an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    },
    {
        what: "a node selector value that is not a label value", stack: "dev",
        edit: (c) => { svc(c, "backend").nodeSelector = { "node-pool": "spot pool" }; },
        problem: "services.backend.nodeSelector.node-pool: \"spot pool\" is not allowed: must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    },
    {
        what: "a toleration without a key (it would tolerate every taint)", stack: "dev",
        edit: (c) => { svc(c, "backend").tolerations = [{ operator: "Exists" }]; },
        problem: "services.backend.tolerations[0].key: is required: the taint key to tolerate, such as spot (an empty key with operator Exists would tolerate every taint, a failed node's included, so pods would never leave it)",
    },
    {
        what: "a toleration key that is not a label key", stack: "dev",
        edit: (c) => { svc(c, "backend").tolerations = [{ key: "spot/pool/x", operator: "Exists" }]; },
        problem: "services.backend.tolerations[0].key: \"spot/pool/x\" is not allowed: must be a label key: an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    },
    {
        what: "a toleration operator Kubernetes does not have", stack: "dev",
        edit: (c) => { svc(c, "backend").tolerations = [{ key: "spot", operator: "In", value: "true" }]; },
        problem: "services.backend.tolerations[0].operator: \"In\" is not allowed: must be one of Equal, Exists",
    },
    {
        what: "a toleration with operator Exists and a value", stack: "dev",
        edit: (c) => { svc(c, "backend").tolerations = [{ key: "spot", operator: "Exists", value: "true" }]; },
        problem: "services.backend.tolerations[0].value: \"true\" is not allowed: must be left out with operator Exists, which matches every value of the key",
    },
    {
        what: "a toleration value that is not a label value", stack: "dev",
        edit: (c) => { svc(c, "backend").tolerations = [{ key: "spot", value: "yes please" }]; },
        problem: "services.backend.tolerations[0].value: \"yes please\" is not allowed: must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    },
    {
        what: "a taint effect Kubernetes does not have", stack: "dev",
        edit: (c) => { svc(c, "backend").tolerations = [{ key: "spot", value: "true", effect: "NoScheduled" }]; },
        problem: "services.backend.tolerations[0].effect: \"NoScheduled\" is not allowed: must be one of NoSchedule, PreferNoSchedule, NoExecute",
    },
    {
        what: "tolerationSeconds without effect NoExecute", stack: "dev",
        edit: (c) => { svc(c, "backend").tolerations = [{ key: "spot", value: "true", effect: "NoSchedule", tolerationSeconds: 60 }]; },
        problem: "services.backend.tolerations[0].tolerationSeconds: 60 is not allowed: must be set only with effect NoExecute: it is how long the pod stays on a node after a NoExecute taint appears",
    },
    {
        what: "negative tolerationSeconds", stack: "dev",
        edit: (c) => { svc(c, "backend").tolerations = [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: -1 }]; },
        problem: "services.backend.tolerations[0].tolerationSeconds: -1 is not allowed: must be an integer from 0 to 2147483647",
    },    {
        what: "a backup schedule of four fields", stack: "prod",
        edit: (c) => { c.postgres = { ...(c.postgres as Raw), backup: { schedule: "0 3 * *" } }; },
        problem: "postgres.backup.schedule: \"0 3 * *\" is not allowed: must be a cron schedule of five fields, minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or jan-dec) day-of-week (0-6 or sun-sat), each *, a value, a range a-b, a step */n or a-b/n, or a comma-separated list of them, such as \"0 3 * * *\"",
    },
    {
        what: "a backup schedule with an hour out of range", stack: "prod",
        edit: (c) => { c.postgres = { ...(c.postgres as Raw), backup: { schedule: "0 24 * * *" } }; },
        problem: "postgres.backup.schedule: \"0 24 * * *\" is not allowed: must be a cron schedule of five fields, minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or jan-dec) day-of-week (0-6 or sun-sat), each *, a value, a range a-b, a step */n or a-b/n, or a comma-separated list of them, such as \"0 3 * * *\"",
    },
    {
        what: "a backup schedule as a descriptor", stack: "prod",
        edit: (c) => { c.postgres = { ...(c.postgres as Raw), backup: { schedule: "@daily" } }; },
        problem: "postgres.backup.schedule: \"@daily\" is not allowed: must be a cron schedule of five fields, minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or jan-dec) day-of-week (0-6 or sun-sat), each *, a value, a range a-b, a step */n or a-b/n, or a comma-separated list of them, such as \"0 3 * * *\"",
    },
    {
        what: "both backup retentions", stack: "prod",
        edit: (c) => { c.postgres = { ...(c.postgres as Raw), backup: { retentionCount: 7, retentionDays: 14 } }; },
        problem: "postgres.backup.retentionDays: 14 is not allowed: must not be set together with retentionCount (7): keep either the newest N dumps or those of the last N days",
    },
    {
        what: "a backup retention of zero dumps", stack: "prod",
        edit: (c) => { c.postgres = { ...(c.postgres as Raw), backup: { retentionCount: 0 } }; },
        problem: "postgres.backup.retentionCount: 0 is not allowed: must be an integer from 1 to 10000",
    },
    {
        what: "backups without PostgreSQL", stack: "dev",
        edit: (c) => {
            c.postgres = { enabled: false, backup: { enabled: true } };
            svc(c, "backend").uses = ["redis"];
        },
        problem: "postgres.backup.enabled: true is not allowed: needs postgres.enabled: true (there is no database to back up)",
    },
    {
        what: "a backup volume of size 0", stack: "prod",
        edit: (c) => { c.postgres = { ...(c.postgres as Raw), backup: { storageSize: "0" } }; },
        problem: "postgres.backup.storageSize: \"0\" is not allowed: must be a Kubernetes quantity greater than zero, such as 10Gi",
    },
    {
        what: "an unknown backup key", stack: "prod",
        edit: (c) => { c.postgres = { ...(c.postgres as Raw), backup: { retention: 7 } }; },
        problem: "postgres.backup.retention: 7 is not allowed: unknown key; known keys here: activeDeadlineSeconds, enabled, resources, retentionCount, retentionDays, schedule, storageClass, storageSize",
    },
    {
        what: "a service named like the backup pods' NetworkPolicy", stack: "prod",
        edit: (c) => { (c.services as Raw)["postgres-backup"] = { image: "registry.yourdomain.com/tool:v1.0.0" }; },
        problem: "services.postgres-backup: \"postgres-backup\" is not allowed: must not produce the NetworkPolicy name 'postgres-backup', which the program uses for its own object",
    },
    {
        what: "a claim quota below the stack's claims with backups", stack: "prod",
        edit: (c) => { c.quota = { persistentVolumeClaims: 2 }; },
        problem: "quota.persistentVolumeClaims: 2 is not allowed: must hold the stack's 3 volume claims (PostgreSQL and Redis data, PostgreSQL backups)",
    },
    {
        what: "a storage quota below the stack's claims with backups", stack: "prod",
        edit: (c) => { c.quota = { requestsStorage: "200Gi" }; },
        problem: "quota.requestsStorage: \"200Gi\" is not allowed: must hold the stack's volume claims (210Gi: 100Gi + 10Gi + 100Gi)",
    },
    ...migrationRefusals(),
    // Kafka and MinIO (seed 003): single-node data services like the others.
    {
        what: "a use of Kafka while it is off", stack: "dev",
        edit: (c) => { svc(c, "backend").uses.push("kafka"); },
        problem: "services.backend.uses: \"kafka\" is not allowed: needs kafka.enabled: true",
    },
    {
        what: "two Kafka replicas", stack: "staging",
        edit: (c) => { c.kafka = { enabled: true, replicas: 2 }; },
        problem: "kafka.replicas: 2 is not allowed: must be 1: Kafka here is a single broker and controller (one writer on a ReadWriteOnce volume), and a second replica would be a second writer on the same data " +
            "or a replica with an empty volume. Scale the services that use it instead; for high availability use a replicated cluster run by an operator such as Strimzi, or a managed Kafka",
    },
    {
        what: "autoscaling on MinIO", stack: "prod",
        edit: (c) => { c.minio = { enabled: true, autoscaling: { minReplicas: 1, maxReplicas: 4 } }; },
        problem: "minio.autoscaling: {\"minReplicas\":1,\"maxReplicas\":4} is not allowed: MinIO here is a single server (one writer on a ReadWriteOnce volume) and cannot autoscale: " +
            "an HPA would start a second writer on the same data or a replica with an empty volume. Scale the services that use it instead; for high availability use a distributed MinIO run by its operator, or a managed object store",
    },
    {
        what: "a bucket name with upper case and '_'", stack: "dev",
        edit: (c) => { c.minio = { enabled: true, buckets: ["uploads", "User_Files"] }; },
        problem: "minio.buckets: \"User_Files\" is not allowed: must be an S3 bucket name: 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit, " +
            "without '..', '.-' or '-.', not an IP address, not starting with 'xn--' or 'sthree-', not ending with '-s3alias' or '--ol-s3'",
    },
    {
        what: "a bucket listed twice", stack: "dev",
        edit: (c) => { c.minio = { enabled: true, buckets: ["uploads", "reports", "uploads"] }; },
        problem: "minio.buckets: \"uploads\" is not allowed: must be listed once",
    },
    {
        what: "an exporter image for MinIO, which serves its own metrics", stack: "dev",
        edit: (c) => { c.minio = { enabled: true, exporterImage: "minio/exporter:1.0.0" }; },
        problem: "minio.exporterImage: \"minio/exporter:1.0.0\" is not allowed: unknown key; known keys here: buckets, enabled, image, protect, replicas, resources, runAsUser, storageClass, storageSize",
    },
    {
        what: "a Kafka minor-version tag in staging", stack: "staging",
        edit: (c) => { c.kafka = { enabled: true, image: "apache/kafka:4.1" }; },
        problem: "kafka.image: \"apache/kafka:4.1\" is not allowed: must name an exact Kafka release in this environment (a tag such as 4.1.1, or a digest): '4.1' moves to every new release",
    },
    {
        what: "an untagged exporter image in prod", stack: "prod",
        edit: (c) => { c.postgres = { ...(c.postgres as Raw), exporterImage: "quay.io/prometheuscommunity/postgres-exporter" }; },
        problem: "postgres.exporterImage: \"quay.io/prometheuscommunity/postgres-exporter\" is not allowed: must be pinned to a version tag or digest in this environment (not 'latest', not untagged)",
    },
    {
        what: "an exporter image tagged latest in staging", stack: "staging",
        edit: (c) => { c.redis = { ...(c.redis as Raw), exporterImage: "oliver006/redis_exporter:latest" }; },
        problem: "redis.exporterImage: \"oliver006/redis_exporter:latest\" is not allowed: must be pinned to a version tag or digest in this environment (not 'latest', not untagged)",
    },
    {
        what: "MinIO's latest tag in prod", stack: "prod",
        edit: (c) => { c.minio = { enabled: true, image: "minio/minio:latest" }; },
        problem: "minio.image: \"minio/minio:latest\" is not allowed: must be pinned to a version tag or digest in this environment (not 'latest', not untagged)",
    },
    {
        what: "a claim quota below four data services' claims", stack: "dev",
        edit: (c) => { c.kafka = { enabled: true }; c.minio = { enabled: true }; c.quota = { persistentVolumeClaims: 3 }; },
        problem: "quota.persistentVolumeClaims: 3 is not allowed: must hold the stack's 4 volume claims (PostgreSQL, Redis, Kafka and MinIO data)",
    },
    {
        // Kafka's and MinIO's containers count, MinIO without an exporter: 1880m, not 1890m.
        what: "a CPU quota below the stack with Kafka and MinIO", stack: "dev",
        edit: (c) => { c.kafka = { enabled: true }; c.minio = { enabled: true }; c.quota = { requestsCpu: "1" }; },
        problem: "quota.requestsCpu: \"1\" is not allowed: must hold the workloads' CPU requests at full scale plus one rollout surge pod each " +
            "(1880m: backend 4 pods, frontend 2 pods, postgres 1 pods, redis 1 pods, kafka 1 pods, minio 1 pods); raise it or lower replicas/maxReplicas",
    },
    {
        what: "a service named like Kafka's headless Service", stack: "dev",
        edit: (c) => { c.kafka = { enabled: true }; (c.services as Raw)["kafka-headless"] = { image: "example/api:1.0.0" }; },
        problem: "services.kafka-headless: \"kafka-headless\" is not allowed: must not produce the Service name 'kafka-headless', which the program uses for its own object",
    },
    {
        what: "a service named minio", stack: "dev",
        edit: (c) => { (c.services as Raw).minio = { image: "example/api:1.0.0" }; },
        problem: "services.minio: \"minio\" is not allowed: 'postgres', 'redis', 'kafka' and 'minio' are reserved for the data services",
    },
    {
        what: "a Kafka down alert after zero minutes", stack: "dev",
        edit: (c) => { (c.monitoring as Raw).alerts = { kafkaDownMinutes: 0 }; },
        problem: "monitoring.alerts.kafkaDownMinutes: 0 is not allowed: must be an integer from 1 to 2147483647",
    },
];

/** Refusals of `services.<name>.migration` (seed 003's Job, seed 004's init container). */
function migrationRefusals(): { what: string; stack: string; edit: (c: Raw) => void; problem: string }[] {
    const COMMAND = "a non-empty list of non-empty strings, such as [alembic, upgrade, head]";
    const migrate = (migration: unknown) => (c: Raw) => { svc(c, "backend").migration = migration; };
    const seed003 = { command: ["alembic", "upgrade", "head"] };
    const LONG = `api-${"x".repeat(41)}`; // 45 characters: a valid service name, one too long for a migration Job
    return [
        {
            what: "a migration without a command", stack: "dev", edit: migrate({ args: ["upgrade", "head"] }),
            problem: `services.backend.migration.command: is required: ${COMMAND}`,
        },
        {
            what: "a migration with an empty command", stack: "dev", edit: migrate({ command: [] }),
            problem: `services.backend.migration.command: [] is not allowed: must be ${COMMAND}`,
        },
        {
            what: "a migration command with an empty string", stack: "staging", edit: migrate({ command: ["alembic", ""] }),
            problem: `services.backend.migration.command: ["alembic",""] is not allowed: must be ${COMMAND}`,
        },
        {
            what: "a migration command written as one string", stack: "dev", edit: migrate({ command: "alembic upgrade head" }),
            problem: 'services.backend.migration.command: "alembic upgrade head" is not allowed: must be a list of strings',
        },
        {
            what: "migration arguments that are not strings", stack: "dev", edit: migrate({ ...seed003, args: ["--rev", 42] }),
            problem: "services.backend.migration.args[1]: 42 is not allowed: must be a string",
        },
        {
            what: "a migration that is not an object", stack: "dev", edit: migrate(["alembic", "upgrade", "head"]),
            problem: 'services.backend.migration: ["alembic","upgrade","head"] is not allowed: must be an object',
        },
        {
            what: "an unknown migration mode", stack: "dev", edit: migrate({ ...seed003, mode: "cronJob" }),
            problem: 'services.backend.migration.mode: "cronJob" is not allowed: must be one of job, initContainer',
        },
        {
            what: "a migration deadline of 0", stack: "dev", edit: migrate({ ...seed003, activeDeadlineSeconds: 0 }),
            problem: "services.backend.migration.activeDeadlineSeconds: 0 is not allowed: must be an integer from 1 to 86400",
        },
        {
            what: "a migration deadline over a day", stack: "prod", edit: migrate({ ...seed003, activeDeadlineSeconds: 86401 }),
            problem: "services.backend.migration.activeDeadlineSeconds: 86401 is not allowed: must be an integer from 1 to 86400",
        },
        {
            what: "a negative migration backoffLimit", stack: "dev", edit: migrate({ ...seed003, backoffLimit: -1 }),
            problem: "services.backend.migration.backoffLimit: -1 is not allowed: must be an integer from 0 to 10",
        },
        {
            what: "a migration backoffLimit over 10", stack: "dev", edit: migrate({ ...seed003, backoffLimit: 11 }),
            problem: "services.backend.migration.backoffLimit: 11 is not allowed: must be an integer from 0 to 10",
        },
        {
            what: "a migration backoffLimit in mode initContainer", stack: "dev", edit: migrate({ ...seed003, mode: "initContainer", backoffLimit: 3 }),
            problem: "services.backend.migration.backoffLimit: 3 is not allowed: applies to mode job only: the kubelet restarts a failed init container, with back-off, until it succeeds",
        },
        {
            what: "a migration deadline in mode initContainer", stack: "dev", edit: migrate({ ...seed003, mode: "initContainer", activeDeadlineSeconds: 300 }),
            problem: "services.backend.migration.activeDeadlineSeconds: 300 is not allowed: applies to mode job only: an init container has no deadline; the app container starts once it succeeds",
        },
        {
            what: "an unknown migration key", stack: "dev", edit: migrate({ ...seed003, image: "other/image:1.0.0" }),
            problem: 'services.backend.migration.image: "other/image:1.0.0" is not allowed: unknown key; known keys here: activeDeadlineSeconds, args, backoffLimit, command, mode',
        },
        {
            what: "a service name too long for its migration Job's name", stack: "dev",
            edit: (c) => { (c.services as Raw)[LONG] = { image: "example/api:1.0.0", migration: seed003 }; },
            problem: `services.${LONG}: "${LONG}" is not allowed: must be at most 44 characters with a migration in mode job: its Job is named '${LONG}-migration-<8 hex digits>', ` +
                "and a Job's name is at most 63 characters; shorten the name or use mode initContainer",
        },
        {
            what: "a service named like another service's migration", stack: "dev",
            edit: (c) => { migrate(seed003)(c); (c.services as Raw)["backend-migration"] = { image: "example/api:1.0.0" }; },
            problem: "services.backend-migration: \"backend-migration\" is not allowed: must not produce the NetworkPolicy name 'backend-migration', which service 'backend' already produces",
        },
    ];
}

describe("config validation", () => {
    for (const bad of BAD_INPUTS) {
        it(`rejects ${bad.what}`, () => {
            const problems = problemsOf(bad.stack, edited(bad.stack, bad.edit));
            assert.ok(problems.some((p) => p.startsWith(bad.problem)), `no problem starting with:\n  ${bad.problem}\ngot:\n  ${problems.join("\n  ")}`);
            assert.equal(problems.length, 1, `exactly one problem expected, got:\n  ${problems.join("\n  ")}`);
        });
    }

    it("accepts every committed stack and the local stack's template", () => {
        for (const stack of ["dev", "staging", "prod"]) {
            assert.deepEqual(problemsOf(stack, stackConfig(stack)), [], stack);
        }
        const local = parse(fs.readFileSync(path.join(ROOT, "stacks", "local.yaml"), "utf8")).config as Raw;
        const raw = Object.fromEntries(Object.entries(local).map(([k, v]) => [k.replace(/^platform:/, ""), v]));
        const cfg = resolveConfig("local", raw, { set: [], plaintext: [] });
        assert.equal(cfg.ingress.waitForAddress, false);
        assert.equal(cfg.cluster.kubeconfig, ".local/kubeconfig");
        // The whole platform comes up locally: every add-on from the loopback repository up-local.sh serves.
        for (const addon of ["ingressNginx", "certManager", "metricsServer", "kubePrometheusStack"] as const) {
            assert.equal(cfg.addons[addon].enabled, true, addon);
            assert.equal(cfg.addons[addon].repository, "http://127.0.0.1:8879", addon);
        }
        assert.equal(cfg.monitoring.enabled, true);
        assert.equal(cfg.ingress.controller.mode, "managed");
    });

    it("reads a service's Role rules, node selector and tolerations with Kubernetes' defaults; absent means none", () => {
        const cfg = resolveConfig("dev", edited("dev", (c) => {
            c.network = { apiServerCidrs: ["10.96.0.1/32"] };
            svc(c, "backend").rbac = [
                { resources: ["configmaps"], verbs: ["get", "list", "watch"] },
                { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["*"], resourceNames: ["backend-leader"] },
                { apiGroups: ["*"], resources: ["*"], verbs: ["get", "list"] },
                { apiGroups: ["karpenter.k8s.aws"], resources: ["ec2nodeclasses", "*/scale", "pods/log"], verbs: ["get"] },
            ];
            svc(c, "backend").nodeSelector = { "node-pool": "spot", "cloud.google.com/gke-spot": true };
            // YAML reads `value: true` as a boolean; Kubernetes wants the text.
            svc(c, "backend").tolerations = [
                { key: "spot", value: true, effect: "NoSchedule" },
                { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
            ];
        }), ALL_SECRETS);
        const service = (name: string) => cfg.services.find((s) => s.name === name);
        assert.deepEqual(service("backend")?.rbac, [
            { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"], resourceNames: [] },
            { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["*"], resourceNames: ["backend-leader"] },
            { apiGroups: ["*"], resources: ["*"], verbs: ["get", "list"], resourceNames: [] },
            { apiGroups: ["karpenter.k8s.aws"], resources: ["ec2nodeclasses", "*/scale", "pods/log"], verbs: ["get"], resourceNames: [] },
        ]);
        assert.deepEqual(service("backend")?.nodeSelector, { "node-pool": "spot", "cloud.google.com/gke-spot": "true" });
        assert.deepEqual(service("backend")?.tolerations, [
            { key: "spot", operator: "Equal", value: "true", effect: "NoSchedule" },
            { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
        ]);
        assert.deepEqual([service("frontend")?.rbac, service("frontend")?.nodeSelector, service("frontend")?.tolerations], [[], {}, []]);
    });

    it("lists every problem at once, in one error naming the stack", () => {
        const raw = edited("prod", (c) => {
            svc(c, "frontend").replicas = -1;
            svc(c, "backend").image = "registry.yourdomain.com/kaizen-studio-backend:latest";
            c.domain = "not a host";
        });
        try {
            resolveConfig("prod", raw, ALL_SECRETS);
            assert.fail("expected an error");
        } catch (e) {
            assert.ok(e instanceof ConfigValidationError);
            assert.equal(e.problems.length, 3);
            assert.match(e.message, /^Stack 'prod' has 3 config problems \(keys are under 'platform:'\):\n {2}- /);
        }
    });

    it("requires configured secrets in prod and names the command that sets them", () => {
        const problems = problemsOf("prod", stackConfig("prod"), { set: [], plaintext: [] });
        for (const key of ["postgresPassword", "redisPassword", "jwtPrivateKey", "jwtPublicKey", "encryptionKey", "grafanaAdminPassword"]) {
            assert.ok(problems.includes(`${key}: is required (${key.startsWith("jwt") ? "the program cannot generate RSA keys" : "this stack has secrets.requireConfigured: true"}): run 'npm run secrets -- init --stack prod'`), `${key}:\n${problems.join("\n")}`);
        }
        assert.ok(problems.some((p) => p.startsWith("alertWebhookUrl: is required: Alertmanager webhook receiver URL")));
        assert.equal(problems.some((p) => p.startsWith("jwtSecret")), false, "prod uses RS256: no HS256 secret needed");
        assert.equal(problems.some((p) => p.startsWith("azureAd")), false, "SSO is off");
    });

    it("accepts the scale-down window set twice to one value, and replicas 1 on the data services (what they run)", () => {
        assert.deepEqual(problemsOf("dev", edited("dev", (c) => {
            svc(c, "backend").autoscaling.behavior = { scaleDown: { stabilizationWindowSeconds: 300 } };
            (c.postgres as Raw).replicas = 1;
            (c.redis as Raw).replicas = "1";
        })), []);
    });

    it("reads a migration with its defaults (mode job, 600 s, no retry), and none where it is not set", () => {
        const migration = (m: unknown) => resolveConfig("dev", edited("dev", (c) => { svc(c, "backend").migration = m; }), ALL_SECRETS).services[0].migration;
        assert.deepEqual(migration({ command: ["alembic", "upgrade", "head"] }),
            { command: ["alembic", "upgrade", "head"], args: [], mode: "job", activeDeadlineSeconds: 600, backoffLimit: 0 });
        assert.deepEqual(migration({ command: ["alembic"], args: ["-c", "alembic/alembic.ini", "upgrade", "head"], mode: "initContainer" }),
            { command: ["alembic"], args: ["-c", "alembic/alembic.ini", "upgrade", "head"], mode: "initContainer", activeDeadlineSeconds: 600, backoffLimit: 0 });
        assert.deepEqual(migration({ command: ["alembic", "upgrade", "head"], activeDeadlineSeconds: 86400, backoffLimit: 10 }),
            { command: ["alembic", "upgrade", "head"], args: [], mode: "job", activeDeadlineSeconds: 86400, backoffLimit: 10 });
        assert.equal(migration(undefined), undefined);
        for (const stack of ["dev", "staging", "prod"]) {
            assert.deepEqual(resolveConfig(stack, stackConfig(stack), ALL_SECRETS).services.filter((s) => s.migration).map((s) => s.name), [], stack);
        }
        // 44 characters is the longest name a migration Job fits.
        const longest = `api-${"x".repeat(40)}`;
        assert.deepEqual(problemsOf("dev", edited("dev", (c) => { (c.services as Raw)[longest] = { image: "example/api:1.0.0", migration: { command: ["migrate"] } }; })), []);
    });

    it("never lists autoscaling among a data service's known keys", () => {
        const problems = problemsOf("dev", edited("dev", (c) => { (c.postgres as Raw).autoscale = true; }));
        assert.equal(problems.length, 1);
        assert.match(problems[0], /^postgres\.autoscale: true is not allowed: unknown key; known keys here: /);
        assert.equal(problems[0].includes("autoscaling"), false, problems[0]);
        assert.ok(problems[0].includes("replicas"), problems[0]);
    });

    it("reads Kafka's and MinIO's defaults: off, exact images, 10Gi, protected in prod, their images' users, no buckets", () => {
        const dev = resolveConfig("dev", stackConfig("dev"), ALL_SECRETS);
        const prod = resolveConfig("prod", stackConfig("prod"), ALL_SECRETS);
        assert.deepEqual(dev.kafka, {
            enabled: false, image: "apache/kafka:4.1.1", exporterImage: "danielqsj/kafka-exporter:v1.9.0", storageSize: "10Gi", storageClass: "",
            resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2000m", memory: "2Gi" } }, protect: false, runAsUser: 1000,
        });
        assert.deepEqual(dev.minio, {
            enabled: false, image: "minio/minio:RELEASE.2025-09-07T16-13-09Z", storageSize: "10Gi", storageClass: "",
            resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1000m", memory: "2Gi" } }, protect: false, runAsUser: 1000, buckets: [],
        });
        assert.equal(prod.kafka.protect, true);
        assert.equal(prod.minio.protect, true);
        assert.equal(prod.kafka.image, dev.kafka.image, "no moving tag to fall back to in dev");
    });

    it("takes S3 bucket names and refuses what S3 or MinIO would", () => {
        const problems = (bucket: string) => problemsOf("dev", edited("dev", (c) => { c.minio = { enabled: true, buckets: [bucket] }; }));
        for (const ok of ["abc", "uploads", "reports.2024", "a-b.c-d", "0-9", "x".repeat(63)]) {
            assert.deepEqual(problems(ok), [], ok);
        }
        for (const bad of ["ab", "x".repeat(64), "-uploads", "uploads-", "up..loads", "up.-loads", "up-.loads", "192.168.1.10", "xn--uploads", "sthree-uploads",
            "uploads-s3alias", "uploads--ol-s3", "up loads", "Uploads", "up_loads", ""]) {
            assert.equal(problems(bad).length, 1, bad);
            assert.match(problems(bad)[0], /^minio\.buckets: .* is not allowed: must be an S3 bucket name/, bad);
        }
    });

    it("requires the MinIO root password in prod only when MinIO is on", () => {
        const without = { set: Object.keys(FAKE_SECRETS).filter((k) => k !== "minioRootPassword"), plaintext: [] };
        assert.deepEqual(problemsOf("prod", stackConfig("prod"), without), []);
        assert.deepEqual(problemsOf("prod", edited("prod", (c) => { c.minio = { enabled: true }; }), without), [
            "minioRootPassword: is required (this stack has secrets.requireConfigured: true): run 'npm run secrets -- init --stack prod'",
        ]);
        assert.deepEqual(problemsOf("dev", edited("dev", (c) => { c.minio = { enabled: true }; }), { set: [], plaintext: [] }), [], "dev generates it");
        assert.deepEqual(problemsOf("dev", edited("dev", (c) => { svc(c, "backend").secretEnv.push({ name: "S3_KEY", from: "minioRootPassword" }); })), [
            "services.backend.secretEnv[2].from: \"minioRootPassword\" is not allowed: must be a secret this stack has; minioRootPassword is the MinIO root password, the S3 secret key of the services that use minio",
        ]);
    });

    it("lets dev fall back to generated secrets", () => {
        assert.deepEqual(problemsOf("dev", stackConfig("dev"), { set: [], plaintext: [] }), []);
    });

    it("requires the SSO secrets only when SSO is on", () => {
        const raw = edited("dev", (c) => { c.secrets = { azureAdSso: true }; });
        const problems = problemsOf("dev", raw, { set: [], plaintext: [] });
        assert.deepEqual(problems.map((p) => p.split(":")[0]), ["azureAdClientId", "azureAdClientSecret"]);
    });

    it("refuses a secret stored in plain text without echoing it", () => {
        const problems = problemsOf("dev", stackConfig("dev"), { set: ["redisPassword"], plaintext: ["redisPassword"] });
        assert.deepEqual(problems, ["redisPassword: is stored in plain text: secrets must be set with 'pulumi config set --secret redisPassword <value>' (or 'npm run secrets')"]);
    });

    it("applies per-environment defaults and derives the namespace", () => {
        const dev = resolveConfig("dev", stackConfig("dev"), ALL_SECRETS);
        const prod = resolveConfig("prod", stackConfig("prod"), ALL_SECRETS);
        assert.equal(dev.namespace, "kaizen-studio-dev");
        assert.equal(prod.namespace, "kaizen-studio");
        assert.equal(dev.postgres.storageSize, "50Gi");
        assert.equal(prod.postgres.storageSize, "100Gi");
        assert.equal(dev.postgres.image, "postgres:15-alpine");
        assert.equal(dev.redis.image, "redis:7.2-alpine", "dev: the seed's tags");
        assert.equal(prod.postgres.image, "postgres:15.10-alpine", "prod: exact releases");
        assert.equal(prod.redis.image, "redis:7.2.7-alpine");
        assert.deepEqual(prod.postgres.resources, { requests: { cpu: "500m", memory: "2Gi" }, limits: { cpu: "2000m", memory: "4Gi" } });
        assert.deepEqual(prod.redis.resources, { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1000m", memory: "1Gi" } });
        assert.equal(prod.postgres.protect, true);
        assert.equal(dev.postgres.protect, false);
        assert.equal(prod.secrets.requireConfigured, true);
        assert.equal(dev.secrets.requireConfigured, false);
        assert.equal(prod.addons.ingressNginx.replicas, 2);
        assert.equal(dev.addons.ingressNginx.replicas, 1);
        assert.equal(prod.ingress.rateLimitRps, 100);
    });

    it("points NetworkPolicy peers at the namespaces this stack's add-ons run in", () => {
        const raw = edited("dev", (c) => {
            (c.addons as Raw).ingressNginx = { enabled: true, namespace: "edge" };
            (c.addons as Raw).kubePrometheusStack = { enabled: true, namespace: "observability" };
        });
        const cfg = resolveConfig("dev", raw, ALL_SECRETS);
        assert.equal(cfg.network.ingressControllerNamespace, "edge");
        assert.equal(cfg.network.monitoringNamespace, "observability");
        const explicit = resolveConfig("dev", edited("dev", (c) => { c.network = { monitoringNamespace: "prom" }; }), ALL_SECRETS);
        assert.equal(explicit.network.monitoringNamespace, "prom");
    });

    it("takes monitoring CRDs from the cluster when the stack says the cluster has them", () => {
        const cfg = resolveConfig("dev", edited("dev", (c) => {
            (c.addons as Raw).kubePrometheusStack = { enabled: false };
            (c.monitoring as Raw).crdsFromCluster = true;
        }), ALL_SECRETS);
        assert.equal(cfg.monitoring.enabled, true);
        assert.equal(cfg.monitoring.crdsFromCluster, true);
        assert.equal(resolveConfig("dev", edited("dev", () => undefined), ALL_SECRETS).monitoring.crdsFromCluster, false);
    });

    it("reads custom metrics from the prometheus-adapter add-on, by default off, querying kube-prometheus-stack's Prometheus unless prometheusUrl is set, or from the cluster", () => {
        const adapter = (edit: (c: Raw) => void) => resolveConfig("dev", edited("dev", edit), ALL_SECRETS).addons.prometheusAdapter;
        const off = adapter(() => undefined);
        assert.deepEqual([off.enabled, off.fromCluster, off.chart, off.version, off.releaseName, off.namespace], [false, false, "prometheus-adapter", "5.3.0", "prometheus-adapter", "monitoring"]);
        const metric = (c: Raw) => { svc(c, "backend").autoscaling.podsMetrics = [{ name: "http_requests_per_second", averageValue: "1000" }]; };
        assert.equal(adapter((c) => { metric(c); customMetricsServed(c); }).prometheusUrl, "http://kube-prometheus-stack-prometheus.monitoring.svc:9090");
        assert.equal(adapter((c) => { (c.addons as Raw).kubePrometheusStack = { enabled: true, namespace: "prom" }; customMetricsServed(c); }).prometheusUrl,
            "http://kube-prometheus-stack-prometheus.prom.svc:9090", "in that add-on's namespace");
        assert.equal(adapter((c) => { (c.addons as Raw).prometheusAdapter = { enabled: true, prometheusUrl: "https://prom.example.com/prometheus" }; }).prometheusUrl, "https://prom.example.com/prometheus");
        assert.equal(adapter((c) => { metric(c); (c.addons as Raw).prometheusAdapter = { fromCluster: true }; }).fromCluster, true);
    });

    it("allows latest in dev, where images are not required to be pinned", () => {
        const raw = edited("dev", (c) => { svc(c, "backend").image = "registry.yourdomain.com/kaizen-studio-backend:latest"; });
        assert.deepEqual(problemsOf("dev", raw), []);
    });

    it("splits config entries into values to validate and secret keys, never passing a secret's value on", () => {
        const { raw, secretKeys } = splitConfig([
            { key: "platform:environment", value: "dev", secret: false },
            { key: "platform:redisPassword", value: "typed-in-plain", secret: false },
            { key: "platform:postgresPassword", secret: true },
            { key: "platform:jwtSecret", value: "", secret: false },
            { key: "platform:jwtSecrett", value: "hidden", secret: true },
            { key: "kubernetes:context", value: "x", secret: false },
        ]);
        assert.deepEqual(raw, { environment: "dev", jwtSecrett: "[secret]" });
        assert.deepEqual(secretKeys, { set: ["redisPassword", "postgresPassword"], plaintext: ["redisPassword"] });
    });

    it("accepts what Kubernetes and the runtimes accept: numbers for quantities, JSON-looking strings, common size units", () => {
        const raw = edited("dev", (c) => {
            svc(c, "backend").resources = { requests: { cpu: 1, memory: "256Mi" }, limits: { cpu: 2, memory: "512Mi" } };
            c.redis = { ...(c.redis as Raw), maxmemory: "1GB" };
            c.ingress = { proxyBodySize: "1G" };
        });
        assert.deepEqual(problemsOf("dev", raw), []);
        const cfg = resolveConfig("dev", raw, ALL_SECRETS);
        assert.deepEqual(cfg.services.find((s) => s.name === "backend")?.resources.limits, { cpu: "2", memory: "512Mi" });
        // Values as Pulumi hands them over: only objects and lists are JSON.
        assert.equal(configValue("1234"), "1234");
        assert.equal(configValue("null"), "null");
        assert.equal(configValue("true"), "true");
        assert.deepEqual(configValue('{"a":1}'), { a: 1 });
        const named = resolveConfig("dev", edited("dev", (c) => { c.appName = configValue("1234"); c.namespace = configValue("null"); }), ALL_SECRETS);
        assert.equal(named.appName, "1234");
        assert.equal(named.namespace, "null");
    });

    it("backs PostgreSQL up by default in prod only, into a volume like the data's, keeping 7 dumps", () => {
        const backup = (stack: string, b?: Raw, pg: Raw = {}) => resolveConfig(stack, edited(stack, (c) => { c.postgres = { ...(c.postgres as Raw), ...pg, ...(b ? { backup: b } : {}) }; }), ALL_SECRETS).postgres.backup;
        assert.deepEqual(backup("prod"), {
            enabled: true, schedule: "0 3 * * *", retention: { by: "count", value: 7 }, storageSize: "100Gi", storageClass: "",
            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1000m", memory: "1Gi" } }, activeDeadlineSeconds: 14400,
        });
        assert.equal(backup("dev").enabled, false);
        assert.equal(backup("staging").enabled, false);
        assert.equal(backup("prod", { enabled: false }).enabled, false);
        assert.deepEqual(backup("dev", { enabled: true }, { storageSize: "20Gi", storageClass: "fast-ssd" }), { ...backup("prod"), storageSize: "20Gi", storageClass: "fast-ssd" });
        assert.deepEqual(backup("prod", { retentionDays: 14, storageClass: "cold", storageSize: "300Gi" }), { ...backup("prod"), retention: { by: "days", value: 14 }, storageClass: "cold", storageSize: "300Gi" });
        // A prod stack without PostgreSQL has nothing to back up: off, not refused.
        const noDatabase = resolveConfig("prod", edited("prod", (c) => {
            c.postgres = { enabled: false };
            svc(c, "backend").uses = ["redis"];
        }), ALL_SECRETS);
        assert.equal(noDatabase.postgres.backup.enabled, false);
    });

    it("takes the cron schedules the CronJob controller takes, five fields within their ranges", () => {
        const accepts = (schedule: string) => problemsOf("prod", edited("prod", (c) => { c.postgres = { ...(c.postgres as Raw), backup: { schedule } }; })).length === 0;
        for (const ok of ["0 3 * * *", "*/15 2-5 1,15 jan-mar mon-fri", "0 0 ? * SUN", "5/10 * * * *", "59 23 31 12 6", "0 0-23/6 * * 1-5"]) {
            assert.ok(accepts(ok), ok);
        }
        for (const bad of ["0 3 * * * *", "60 * * * *", "* * 0 * *", "* * * 13 *", "* * * * 7", "*/0 * * * *", "5-1 * * * *", "1-2-3 * * * *", "0 3 * * mon-", "TZ=UTC 0 3 * * *", "@hourly"]) {
            assert.ok(!accepts(bad), bad);
        }
    });

    it("reports every problem at once: cross-checks run on the parts that are valid", () => {
        const problems = problemsOf("dev", edited("dev", (c) => {
            svc(c, "frontend").image = "example/Case";
            c.quota = { pods: 3 };
        }));
        assert.deepEqual(problems.map((p) => p.split(":")[0]), ["services.frontend.image", "quota.pods"]);
    });

    // Found by comparing this validator with the hand-written one it replaced, on the oracle's generated configs.
    it("keeps the rest of the config when an integer field holds a fraction: other services' problems still reported, no follow-ons", () => {
        const problems = problemsOf("dev", edited("dev", (c) => {
            svc(c, "backend").port = 80.5;
            svc(c, "frontend").nodeSelector = { "k8s app": "x" };
        }));
        assert.deepEqual(problems.map((p) => p.split(":")[0]), ["services.backend.port", "services.frontend.nodeSelector"]);
    });

    it("reports two invalid custom metric names each once, not also as a name listed twice", () => {
        const problems = problemsOf("dev", edited("dev", (c) => {
            svc(c, "backend").autoscaling.podsMetrics = [{ name: ".", averageValue: 5 }, { name: "", averageValue: 6 }];
            customMetricsServed(c);
        }));
        assert.deepEqual(problems.map((p) => p.split(":")[0]), ["services.backend.autoscaling.podsMetrics[0].name", "services.backend.autoscaling.podsMetrics[1].name"]);
    });

    it("reports an invalid ingressPath once, not also as an Ingress without routes", () => {
        const problems = problemsOf("dev", edited("dev", (c) => {
            svc(c, "backend").ingressPath = "/a b";
            svc(c, "frontend").ingressPath = "/./x";
        }));
        assert.deepEqual(problems.map((p) => p.split(":")[0]), ["services.backend.ingressPath", "services.frontend.ingressPath"]);
    });

    it("treats the stack's declared secrets as secrets: their values never reach validation, plain-text ones are refused", () => {
        const { raw, secretKeys } = splitConfig([
            { key: "platform:secrets", value: { custom: { stripeApiKey: "external", sessionSecret: "password" } }, secret: false },
            { key: "platform:stripeApiKey", value: "sk_live_typed-in-plain", secret: false },
            { key: "platform:sessionSecret", secret: true },
        ]);
        assert.deepEqual(raw, { secrets: { custom: { stripeApiKey: "external", sessionSecret: "password" } } });
        assert.deepEqual(secretKeys, { set: ["stripeApiKey", "sessionSecret"], plaintext: ["stripeApiKey"] });
        const problems = problemsOf("dev", { ...stackConfig("dev"), ...raw }, { set: [...Object.keys(FAKE_SECRETS), ...secretKeys.set], plaintext: secretKeys.plaintext });
        assert.deepEqual(problems, ["stripeApiKey: is stored in plain text: secrets must be set with 'pulumi config set --secret stripeApiKey <value>' (or 'npm run secrets')"]);
    });

    it("requires a declared external stack secret to be set", () => {
        const raw = edited("dev", (c) => { c.secrets = { custom: { stripeApiKey: "external" } }; });
        assert.deepEqual(problemsOf("dev", raw), ["stripeApiKey: is required: stack secret 'stripeApiKey' (secrets.custom, external); set it with 'pulumi config set --secret stripeApiKey <value> --stack dev'"]);
    });

    describe("the config's schema (stacks/config.ts CONFIG)", () => {
        type JsonSchema = { type?: string; description?: string; not?: object; properties?: Record<string, JsonSchema>; additionalProperties?: JsonSchema | false; items?: JsonSchema };
        const schema = z.toJSONSchema(CONFIG, { io: "input" }) as JsonSchema;
        const declared = (parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, { type: string; default: unknown }> }).config;

        it("agrees with Pulumi.yaml's config: the same top-level keys, the same JSON types, and each declared default accepted", () => {
            const properties = schema.properties ?? {};
            assert.deepEqual(Object.keys(declared).sort(), Object.keys(properties).sort());
            assert.deepEqual([...SETTING_KEYS, ...SECRET_KEYS].sort(), Object.keys(properties).sort());
            for (const [key, { type, default: def }] of Object.entries(declared)) {
                assert.equal(properties[key].type, type, `${key}: Pulumi.yaml declares ${type}, the schema ${properties[key].type}`);
                const issues = CONFIG.safeParse({ [key]: def }).error?.issues.filter((i) => i.path[0] === key) ?? [];
                // The one required key: its declared default "" reads as unset, which a stack must not leave it.
                assert.deepEqual(issues.map((i) => i.message), key === "environment" ? ["one of dev, staging, prod"] : [], `${key}: its declared default ${JSON.stringify(def)}`);
            }
        });

        /** Every field at every level, by path (`services.<name>.autoscaling.podsMetrics[].name`); refused keys ({not: {}}) are declared only to say why. */
        const fields: { path: string; name: string; schema: JsonSchema }[] = [];
        const walk = (s: JsonSchema, name: string, at: string) => {
            if (s.not) {
                return;
            }
            fields.push({ path: at, name, schema: s });
            Object.entries(s.properties ?? {}).forEach(([k, v]) => walk(v, k, `${at}.${k}`));
            // A map's entries are described by the map, unless they are objects with fields of their own.
            if (s.additionalProperties && s.additionalProperties.properties) {
                walk(s.additionalProperties, name, `${at}.<name>`);
            }
            Object.entries(s.items?.properties ?? {}).forEach(([k, v]) => walk(v, k, `${at}[].${k}`));
        };
        Object.entries(schema.properties ?? {}).forEach(([k, v]) => walk(v, k, k));

        it("describes every key at every level", () => {
            assert.deepEqual(fields.filter((f) => !f.schema.description).map((f) => f.path), []);
        });

        it("has every field named in README.md's configuration reference (its Configuration and Secrets sections)", () => {
            const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
            const section = (title: string) => readme.slice(readme.indexOf(`\n## ${title}\n`), readme.indexOf("\n## ", readme.indexOf(`\n## ${title}\n`) + 1));
            // The reference names fields in code spans (`port`, `{path, periodSeconds 10}`), each under its section's heading.
            const code = [section("Configuration"), section("Secrets")].join("\n").match(/`[^`]*`/g)?.join(" ") ?? "";
            assert.deepEqual(fields.filter((f) => !new RegExp(`\\b${f.name}\\b`).test(code)).map((f) => f.path), []);
        });
    });

    it("agrees with Pulumi.yaml's declarations: each declared default is accepted and a value of another type is refused at its key", () => {
        const declared = (parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, { type: string; default: unknown }> }).config;
        const atKey = (key: string, problems: readonly string[]) => problems.filter((p) => p.startsWith(`${key}:`) || p.startsWith(`${key}.`));
        const wrong: Record<string, unknown> = { string: { not: "a string" }, boolean: "yes", integer: "many", object: "not an object", array: "not a list" };
        // Keys whose declared default is "unset", which validation then requires.
        const required = new Set(["environment", "services"]);
        for (const key of SETTING_KEYS) {
            const { type, default: def } = declared[key];
            if (!required.has(key)) {
                assert.deepEqual(atKey(key, problemsOf("dev", edited("dev", (c) => { c[key] = def; }))), [], `${key}: its declared default ${JSON.stringify(def)}`);
            }
            assert.notDeepEqual(atKey(key, problemsOf("dev", edited("dev", (c) => { c[key] = wrong[type]; }))), [], `${key} (declared ${type}) accepts ${JSON.stringify(wrong[type])}`);
        }
    });

    it("reads image references as the container runtimes do (cases the API-server oracle's image check found)", () => {
        const accepts = (image: string) => problemsOf("dev", edited("dev", (c) => { svc(c, "frontend").image = image; })).length === 0;
        // An upper-case or bracketed first component is a registry host; sha384/sha512 digests are valid.
        for (const ok of ["UPPER/app:v1", "Registry.Example.COM:443/team/app", "[::1]:5000/app:v1", `app@sha512:${"b".repeat(128)}`, `app:v1@sha384:${"c".repeat(96)}`, `r.io/${"a".repeat(250)}:${"t".repeat(128)}`]) {
            assert.ok(accepts(ok), ok);
        }
        // A bare 64-hex name reads as an image ID; digests are lower-case hex of their algorithm's length; names are at most 255.
        for (const bad of ["a".repeat(64), `app@sha256:${"A".repeat(64)}`, `app@sha256:${"a".repeat(63)}`, `app@md5:${"d".repeat(32)}`, `r.io/${"a".repeat(251)}`, "example/Case"]) {
            assert.ok(!accepts(bad), bad);
        }
    });

    it("parses image tags and quantities", () => {
        assert.deepEqual(imageTag("registry:5000/app"), { tag: undefined, digest: undefined });
        assert.deepEqual(imageTag("registry:5000/app:v1"), { tag: "v1", digest: undefined });
        assert.equal(imageTag(`app@sha256:${"a".repeat(64)}`).digest, `sha256:${"a".repeat(64)}`);
        assert.equal(parseQuantity("500m"), 0.5);
        assert.equal(parseQuantity("2Gi"), 2 * 2 ** 30);
        assert.equal(parseQuantity("1e3"), 1000);
        assert.equal(parseQuantity("512MB"), undefined);
    });

    it("fails the program before any resource is registered", async () => {
        const raw = edited("dev", (c) => { svc(c, "backend").replicas = -2; });
        await assert.rejects(runProgram("dev", raw), (e: Error) => {
            assert.match(e.message, /services\.backend\.replicas: -2 is not allowed/);
            return true;
        });
        assert.deepEqual(lastRun.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => r.type), []);
    });

    describe("identity changes of a stack that holds data", () => {
        const MOVE = "namespace: \"kaizen-dev\" is not allowed: this stack's PostgreSQL and Redis data is in namespace \"kaizen-studio-dev\", " +
            "and moving would start them on new, empty volumes while the data stays behind. Keep namespace \"kaizen-studio-dev\" " +
            "(set it explicitly when renaming appName, which derives the default), or move the data deliberately (README: Operations, \"Moving a stack to another namespace\")";
        const RENAME = "appName: \"kaizen\" is not allowed: the PostgreSQL StatefulSet selects its pods by appName (\"kaizen-studio\"), " +
            "a field Kubernetes does not let change, and the Kubernetes provider cannot preview the StatefulSet's replacement " +
            "(pulumi/pulumi-kubernetes#3984). Keep appName \"kaizen-studio\", or move the data deliberately (README: Operations, \"Moving a stack to another namespace\")";
        const LAST = { namespace: "kaizen-studio-dev", appName: "kaizen-studio" };

        it("refuses a rename that moves the namespace, naming both problems, before any Kubernetes resource is registered", async () => {
            const raw = edited("dev", (c) => { c.appName = "kaizen"; });
            await assert.rejects(runProgram("dev", raw, FAKE_SECRETS, LAST), (e: Error) => {
                // The program's own module instance: compare the problems, not the class.
                assert.deepEqual((e as ConfigValidationError).problems, [MOVE, RENAME]);
                return true;
            });
            assert.deepEqual(lastRun.resources.filter((r) => r.type.startsWith("kubernetes:")), []);
        });

        it("names every data service a move or rename would leave behind, and the StatefulSets a rename would need to replace", () => {
            const all = resolveConfig("dev", edited("dev", (c) => { c.kafka = { enabled: true }; c.minio = { enabled: true }; }), ALL_SECRETS);
            assert.deepEqual(identityChangeProblems(all, { namespace: "elsewhere" }), [
                "namespace: \"kaizen-studio-dev\" is not allowed: this stack's PostgreSQL, Redis, Kafka and MinIO data is in namespace \"elsewhere\", " +
                "and moving would start them on new, empty volumes while the data stays behind. Keep namespace \"elsewhere\" " +
                "(set it explicitly when renaming appName, which derives the default), or move the data deliberately (README: Operations, \"Moving a stack to another namespace\")",
            ]);
            assert.deepEqual(identityChangeProblems(all, { appName: "kaizen" }), [
                "appName: \"kaizen-studio\" is not allowed: the PostgreSQL, Kafka and MinIO StatefulSets select their pods by appName (\"kaizen\"), " +
                "a field Kubernetes does not let change, and the Kubernetes provider cannot preview the StatefulSets' replacement " +
                "(pulumi/pulumi-kubernetes#3984). Keep appName \"kaizen\", or move the data deliberately (README: Operations, \"Moving a stack to another namespace\")",
            ]);
            const kafkaOnly = resolveConfig("dev", edited("dev", (c) => {
                c.postgres = { enabled: false };
                c.redis = { enabled: false };
                c.kafka = { enabled: true };
                svc(c, "backend").uses = ["kafka"];
            }), ALL_SECRETS);
            assert.match(identityChangeProblems(kafkaOnly, { appName: "kaizen" })[0], /^appName: "kaizen-studio" is not allowed: the Kafka StatefulSet selects its pods by appName .* the StatefulSet's replacement /);
        });

        it("refuses switching how Redis runs in place, either way, naming both claims; allows it with Redis off or on a first update", () => {
            const as = (workload: string, enabled = true) => resolveConfig("dev", edited("dev", (c) => {
                c.redis = { enabled, workload };
                svc(c, "backend").uses = ["postgres"];
            }), ALL_SECRETS);
            assert.deepEqual(identityChangeProblems(as("statefulset"), { redisWorkload: "deployment" }), [
                "redis.workload: \"statefulset\" is not allowed: this stack's Redis runs as a Deployment with its data on claim \"redis-data\", " +
                "and a StatefulSet would start on a new, empty claim \"data-redis-0\" while the data stays behind. " +
                "Keep workload \"deployment\", or switch deliberately (README: Operations, \"Changing how Redis runs\")",
            ]);
            assert.deepEqual(identityChangeProblems(as("deployment"), { redisWorkload: "statefulset" }), [
                "redis.workload: \"deployment\" is not allowed: this stack's Redis runs as a StatefulSet with its data on claim \"data-redis-0\", " +
                "and a Deployment would start on a new, empty claim \"redis-data\" while the data stays behind. " +
                "Keep workload \"statefulset\", or switch deliberately (README: Operations, \"Changing how Redis runs\")",
            ]);
            assert.deepEqual(identityChangeProblems(as("statefulset"), { redisWorkload: "statefulset" }), []);
            assert.deepEqual(identityChangeProblems(as("statefulset"), {}), [], "a first update, or the one after Redis was off");
            assert.deepEqual(identityChangeProblems(as("statefulset", false), { redisWorkload: "deployment" }), [], "Redis off: nothing to start");
        });

        it("reads how Redis ran from the outputs: a stack from before the redisWorkload output ran it as a Deployment", () => {
            assert.equal(previousRedisWorkload({ redisWorkload: "statefulset", redisHost: "redis.ns.svc.cluster.local" }), "statefulset");
            assert.equal(previousRedisWorkload({ redisHost: "redis.ns.svc.cluster.local" }), "deployment");
            assert.equal(previousRedisWorkload({}), undefined, "Redis was off, or a first update");
        });

        it("counts Redis among the StatefulSets a rename would replace only when it runs as one", () => {
            const sts = resolveConfig("dev", edited("dev", (c) => { c.redis = { enabled: true, workload: "statefulset" }; }), ALL_SECRETS);
            assert.match(identityChangeProblems(sts, { appName: "kaizen" })[0], /^appName: "kaizen-studio" is not allowed: the PostgreSQL and Redis StatefulSets select their pods by appName /);
        });

        it("allows anything on a first update, and the same names on later ones", () => {
            const cfg = resolveConfig("dev", stackConfig("dev"), ALL_SECRETS);
            assert.deepEqual(identityChangeProblems(cfg, {}), []);
            assert.deepEqual(identityChangeProblems(cfg, LAST), []);
        });

        it("allows both changes without data services, and a rename with the namespace kept when only Redis holds data", async () => {
            const stateless = resolveConfig("dev", edited("dev", (c) => {
                c.postgres = { enabled: false };
                c.redis = { enabled: false };
                svc(c, "backend").uses = [];
            }), ALL_SECRETS);
            assert.deepEqual(identityChangeProblems(stateless, { namespace: "elsewhere", appName: "other" }), []);
            const redisOnly = edited("dev", (c) => {
                c.appName = "kaizen";
                c.namespace = "kaizen-studio-dev";
                c.postgres = { enabled: false };
                svc(c, "backend").uses = ["redis"];
            });
            const p = await runProgram("dev", redisOnly, FAKE_SECRETS, LAST);
            assert.equal(p.get("kubernetes:apps/v1:Deployment", "redis").inputs.metadata.namespace, "kaizen-studio-dev");
            assert.equal(p.exports.appName, "kaizen");
        });
    });
});
