// The typed, validated shape of one stack's configuration. Components take these plain values;
// nothing here is an Output, so every decision about what exists is made before registration.

export type Environment = "dev" | "staging" | "prod";
export const ENVIRONMENTS: readonly Environment[] = ["dev", "staging", "prod"];

/** Names a service may list in `uses` besides other services; each is also the data service's config key. */
export const DATA_SERVICES = ["postgres", "redis", "kafka", "minio"] as const;
export type DataServiceName = (typeof DATA_SERVICES)[number];

/** What the config checks need to know of each data service. */
export const DATA_SERVICE_FACTS: Readonly<Record<DataServiceName, {
    /** Its name in messages. */
    readonly what: string;
    /** Runs an exporter sidecar with monitoring on (MinIO serves its own metrics). */
    readonly exporterSidecar: boolean;
}>> = {
    postgres: { what: "PostgreSQL", exporterSidecar: true },
    redis: { what: "Redis", exporterSidecar: true },
    kafka: { what: "Kafka", exporterSidecar: true },
    minio: { what: "MinIO", exporterSidecar: false },
};

/** How Redis runs: a Deployment on a standalone retained claim (the reference system's), or a StatefulSet like the other data services. */
export const REDIS_WORKLOADS = ["deployment", "statefulset"] as const;
export type RedisWorkload = (typeof REDIS_WORKLOADS)[number];

export interface ResourceSpec {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly cpu: string; readonly memory: string };
}

/** Fixed resources of the containers the program adds beside the app's (quota checks use them too). */
export const WAIT_CONTAINER_RESOURCES: ResourceSpec = { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } };
export const EXPORTER_RESOURCES: ResourceSpec = { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "128Mi" } };

export interface ProbeSpec {
    /** HTTP GET path. */
    readonly path: string;
    readonly initialDelaySeconds: number;
    readonly periodSeconds: number;
    readonly timeoutSeconds: number;
    readonly failureThreshold: number;
}

/** A per-pod custom metric the HPA averages over the pods (a `type: Pods` metric). */
export interface PodsMetricSpec {
    /** Metric name in the custom metrics API, e.g. http_requests_per_second. */
    readonly name: string;
    /** Target average per pod, a Kubernetes quantity ("1000", "500m"). */
    readonly averageValue: string;
}

export interface ScalingPolicySpec {
    /** Change by at most `value` pods, or `value` percent of the current replicas. */
    readonly type: "Pods" | "Percent";
    readonly value: number;
    /** The window the change limit applies to. */
    readonly periodSeconds: number;
}

/** One direction of an HPA's `behavior`. */
export interface ScalingRulesSpec {
    readonly stabilizationWindowSeconds: number;
    /** Which policy wins (`Max`, `Min`), or `Disabled` (never scale this way); unset: Kubernetes' default, Max. */
    readonly selectPolicy?: "Max" | "Min" | "Disabled";
    readonly policies: readonly ScalingPolicySpec[];
}

export interface AutoscalingSpec {
    readonly minReplicas: number;
    readonly maxReplicas: number;
    /** Target average CPU utilisation, percent of requests. */
    readonly cpuUtilization: number;
    /** Target average memory utilisation, percent of requests; 0 leaves memory out. */
    readonly memoryUtilization: number;
    /** Custom per-pod metrics after CPU and memory; default none. */
    readonly podsMetrics: readonly PodsMetricSpec[];
    /**
     * Default: up by at most 100 % every 30 s with no window; down by at most one pod a minute
     * after a window of `scaleDownStabilizationSeconds` (300).
     */
    readonly behavior: { readonly scaleUp: ScalingRulesSpec; readonly scaleDown: ScalingRulesSpec };
}

/** One rule of a service's Role: an rbac.authorization.k8s.io/v1 PolicyRule on resources. */
export interface RbacRuleSpec {
    /** API groups; "" is the core group (ConfigMaps, Pods...). Default `[""]`. */
    readonly apiGroups: readonly string[];
    /** Resource types (`configmaps`) and subresources (`pods/log`). */
    readonly resources: readonly string[];
    readonly verbs: readonly string[];
    /** Object names the rule is limited to; empty means every object of `resources`. */
    readonly resourceNames: readonly string[];
}

/** A taint the pods tolerate (core/v1 Toleration). */
export interface TolerationSpec {
    readonly key: string;
    /** `Equal` (default) matches `value`; `Exists` matches any value of `key`. */
    readonly operator: "Equal" | "Exists";
    /** Absent with `Exists`; with `Equal`, absent matches the empty value. */
    readonly value?: string;
    /** Absent matches every effect. */
    readonly effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
    /** With `NoExecute` only: how long the pod stays on a node after the taint appears; absent means for ever. */
    readonly tolerationSeconds?: number;
}

export interface ServiceSpec {
    /** Key in `services`; also the Deployment, Service and component label name. */
    readonly name: string;
    /** Pinned image reference (`repo:tag` or `repo@sha256:...`). */
    readonly image: string;
    readonly port: number;
    readonly servicePort: number;
    /** Fixed replica count; ignored (left off the Deployment) when `autoscaling` is set. */
    readonly replicas: number;
    readonly autoscaling?: AutoscalingSpec;
    readonly resources: ResourceSpec;
    readonly probes: { readonly liveness: ProbeSpec; readonly readiness: ProbeSpec; readonly startup: ProbeSpec };
    /** Ingress path prefix routed to this service; unset keeps it internal. */
    readonly ingressPath?: string;
    /** Data services (`postgres`, `redis`, `kafka`, `minio`) and other services this one calls. */
    readonly uses: readonly string[];
    /** Allow egress to external HTTPS (TCP 443 outside the cluster). */
    readonly egressHttps: boolean;
    /** Plain environment, stored in the service's ConfigMap. */
    readonly env: Readonly<Record<string, string>>;
    /** Environment variable name -> app secret key (stacks/secrets.ts); config: a list of {name, from}. */
    readonly secretEnv: Readonly<Record<string, string>>;
    /** Paths that get an emptyDir, because the root filesystem is read-only. */
    readonly writablePaths: readonly string[];
    readonly runAsUser: number;
    /** PodDisruptionBudget minAvailable; unset means no PDB. */
    readonly pdbMinAvailable?: number;
    /** Prometheus scrape path on `port`; unset means the service exposes no metrics. */
    readonly metricsPath?: string;
    readonly command: readonly string[];
    readonly args: readonly string[];
    /**
     * Rules of a Role bound to the service's ServiceAccount, for an app that calls the Kubernetes API.
     * Empty (the default): no Role, no RoleBinding, and no token mounted in the pods.
     */
    readonly rbac: readonly RbacRuleSpec[];
    /** Node labels the pods must be scheduled on (pod `nodeSelector`); empty (the default) means any node. */
    readonly nodeSelector: Readonly<Record<string, string>>;
    /** Taints the pods tolerate, e.g. a spot node pool's; empty (the default) means none. */
    readonly tolerations: readonly TolerationSpec[];
    /** A database migration that runs before this service's pods serve a new version; unset means none. */
    readonly migration?: MigrationSpec;
}

/** Where a service's migration runs (seed 003: a Job; seed 004: an init container). */
export type MigrationMode = "job" | "initContainer";
export const MIGRATION_MODES: readonly MigrationMode[] = ["job", "initContainer"];

/**
 * A migration (`alembic upgrade head`, ...) run from the service's own image with the service's env,
 * ServiceAccount, security context, resources and writable paths.
 */
export interface MigrationSpec {
    /** The container's command; required, at least one non-empty string. */
    readonly command: readonly string[];
    /** Its arguments; default none. */
    readonly args: readonly string[];
    /**
     * `job` (default): a Job that must complete before the Deployment changes, so a failed migration
     * stops the update while the old pods keep serving. `initContainer`: an init container of every
     * pod, run on every pod start (for idempotent migrations only).
     */
    readonly mode: MigrationMode;
    /** Job mode: seconds from the Job's start (dependency waits included) until it fails; default 600. */
    readonly activeDeadlineSeconds: number;
    /** Job mode: failed pods retried before the Job fails; default 0 (a failure is not retried). */
    readonly backoffLimit: number;
}

/**
 * Name of a service's migration: its Job's name prefix, its pods' `app.kubernetes.io/component`,
 * its container and its NetworkPolicy. Never the service's own component: the service's Service,
 * PodDisruptionBudget and NetworkPolicy select pods by that, and must not count migration pods.
 */
export function migrationName(service: string): string {
    return `${service}-migration`;
}

/** Hex digits of the hash that ends a migration Job's name: `<service>-migration-<hash>`. */
export const MIGRATION_JOB_HASH_LENGTH = 8;

/** What every data service has (components/dataService.ts builds on it). */
export interface DataServiceSpec {
    readonly enabled: boolean;
    readonly image: string;
    readonly storageSize: string;
    /** Empty means the cluster's default StorageClass. */
    readonly storageClass: string;
    readonly resources: ResourceSpec;
    /** Pulumi `protect` on the workload holding the data, so `pulumi destroy` refuses to delete it. */
    readonly protect: boolean;
    readonly runAsUser: number;
}

/** A data service whose metrics come from an exporter sidecar. */
export interface ExporterSpec {
    readonly exporterImage: string;
}

export interface PostgresSpec extends DataServiceSpec, ExporterSpec {
    readonly database: string;
    readonly user: string;
    /** postgresql.conf settings, written to the tuning ConfigMap. */
    readonly settings: Readonly<Record<string, string>>;
    readonly backup: PostgresBackupSpec;
}

/** Which dumps a backup run keeps: the newest `value` (`count`), or those of the last `value` days (`days`). */
export interface BackupRetention {
    readonly by: "count" | "days";
    readonly value: number;
}

/** Scheduled `pg_dump -Fc` of the app database into a volume of its own (components/postgresBackup.ts). */
export interface PostgresBackupSpec {
    /** On in prod, off elsewhere (stacks/environments.ts); only ever true with PostgreSQL on. */
    readonly enabled: boolean;
    /** Cron schedule, five fields, in UTC; default `0 3 * * *` (daily at 03:00). */
    readonly schedule: string;
    /** Default: the newest 7 dumps. */
    readonly retention: BackupRetention;
    /** The backup volume; default the PostgreSQL volume's size. */
    readonly storageSize: string;
    /** Default the PostgreSQL volume's class; empty means the cluster's default StorageClass. */
    readonly storageClass: string;
    readonly resources: ResourceSpec;
    /** How long one backup (or restore) Job may run before Kubernetes stops it; default 4 hours. */
    readonly activeDeadlineSeconds: number;
}

export interface RedisSpec extends DataServiceSpec, ExporterSpec {
    /** `deployment` (default): claim `redis-data`; `statefulset`: claim `data-redis-0` from the StatefulSet's template. */
    readonly workload: RedisWorkload;
    readonly maxmemory: string;
    readonly maxmemoryPolicy: string;
}

/** A single KRaft node, broker and controller in one process. */
export type KafkaSpec = DataServiceSpec & ExporterSpec;

export interface MinioSpec extends DataServiceSpec {
    /** Buckets created (if missing) at every start; S3 bucket names. Default none. */
    readonly buckets: readonly string[];
}

/** The ingress controller that serves the stack's IngressClass, and what it does with response headers. */
export interface IngressControllerSpec {
    /**
     * `managed`: the ingress-nginx add-on of this stack (the default when it is enabled);
     * `external`: a controller installed outside this stack (the default otherwise).
     */
    readonly mode: "managed" | "external";
    /**
     * Response headers the controller lets an Ingress set through the custom-headers annotation
     * (ingress-nginx: its `global-allowed-response-headers`; it answers 503 for an Ingress that sets
     * any other). Managed: every header the program sets. External: as the stack states, default none.
     */
    readonly allowedResponseHeaders: readonly string[];
    /** The controller adds Strict-Transport-Security to TLS responses itself (ingress-nginx does by default). */
    readonly sendsHsts: boolean;
}

export interface IngressSpec {
    readonly enabled: boolean;
    readonly host: string;
    readonly className: string;
    readonly clusterIssuer: string;
    readonly tlsSecretName: string;
    readonly rateLimitRps: number;
    /** Proxy read/send timeout, long enough for WebSockets. */
    readonly proxyTimeoutSeconds: number;
    readonly proxyBodySize: string;
    readonly contentSecurityPolicy: string;
    readonly hstsMaxAgeSeconds: number;
    /** Set the security headers (stacks/securityHeaders.ts) from the Ingress; off leaves them to the app. */
    readonly securityHeaders: boolean;
    readonly controller: IngressControllerSpec;
    /**
     * Let `pulumi up` wait until the controller publishes the Ingress address. Turn off only on
     * clusters whose controller never publishes one (the provider would wait until its timeout).
     */
    readonly waitForAddress: boolean;
}

export interface AlertThresholds {
    readonly errorRateRatio: number;
    readonly latencyP95Seconds: number;
    readonly serviceDownMinutes: number;
    readonly postgresDownMinutes: number;
    readonly postgresConnectionsRatio: number;
    readonly redisDownMinutes: number;
    readonly redisMemoryRatio: number;
    readonly kafkaDownMinutes: number;
    readonly minioDownMinutes: number;
    readonly podNotReadyMinutes: number;
}

export interface MonitoringSpec {
    readonly enabled: boolean;
    readonly scrapeInterval: string;
    readonly alerts: AlertThresholds;
    /** Label the Grafana dashboard sidecar watches for. */
    readonly dashboardLabel: string;
    /**
     * The cluster already has the prometheus-operator CRDs (ServiceMonitor, PrometheusRule) from
     * outside this stack. Default false: monitoring then needs the kube-prometheus-stack add-on.
     */
    readonly crdsFromCluster: boolean;
}

/** Where other cluster pods live, for NetworkPolicy peers. */
export interface NetworkSpec {
    readonly ingressControllerNamespace: string;
    readonly ingressControllerPodLabels: Readonly<Record<string, string>>;
    readonly monitoringNamespace: string;
    readonly prometheusPodLabels: Readonly<Record<string, string>>;
    readonly dnsNamespace: string;
    readonly dnsPodLabels: Readonly<Record<string, string>>;
    /**
     * Addresses of the Kubernetes API server's endpoints (CIDRs), which services with `rbac` may reach
     * on `apiServerPorts`. NetworkPolicies see the endpoints, not the `kubernetes` Service's ClusterIP.
     */
    readonly apiServerCidrs: readonly string[];
    readonly apiServerPorts: readonly number[];
}

export interface QuotaSpec {
    readonly requestsCpu: string;
    readonly requestsMemory: string;
    readonly limitsCpu: string;
    readonly limitsMemory: string;
    readonly pods: number;
    readonly persistentVolumeClaims: number;
    readonly requestsStorage: string;
    /** LimitRange defaults for containers that set none. */
    readonly defaultRequest: { readonly cpu: string; readonly memory: string };
    readonly defaultLimit: { readonly cpu: string; readonly memory: string };
}

export interface ClusterSpec {
    /** Path to a kubeconfig file; empty means the ambient one ($KUBECONFIG or ~/.kube/config). */
    readonly kubeconfig: string;
    /** Context in the kubeconfig; empty means its current context. */
    readonly context: string;
}

export interface PlatformConfig {
    readonly stack: string;
    readonly environment: Environment;
    readonly appName: string;
    readonly namespace: string;
    readonly domain: string;
    readonly debug: boolean;
    readonly jwtAlgorithm: "HS256" | "RS256";
    readonly initImage: string;
    readonly cluster: ClusterSpec;
    readonly services: readonly ServiceSpec[];
    readonly postgres: PostgresSpec;
    readonly redis: RedisSpec;
    readonly kafka: KafkaSpec;
    readonly minio: MinioSpec;
    readonly ingress: IngressSpec;
    readonly monitoring: MonitoringSpec;
    readonly network: NetworkSpec;
    readonly quota: QuotaSpec;
    readonly secrets: SecretSettings;
    readonly addons: AddonsConfig;
    /** Plain settings shared by every service (e.g. CORS origins), merged under each service's env. */
    readonly appEnv: Readonly<Record<string, string>>;
}

// Cluster add-ons (stacks/addons.ts reads them).

export type AddonName = "ingressNginx" | "certManager" | "metricsServer" | "kubePrometheusStack" | "prometheusAdapter";

export interface ChartSource {
    /**
     * Chart name in `repository`, an `oci://` reference, or a local chart folder or `.tgz` archive
     * (a path starting with `./`, `../` or `/`), for clusters that cannot reach public repositories.
     */
    readonly chart: string;
    /** Chart repository URL (https:// or a mirror); empty for OCI references and local charts. */
    readonly repository: string;
    /** Pinned chart version (ignored for local charts, whose version is in Chart.yaml). */
    readonly version: string;
}

export interface AddonSpec extends ChartSource {
    readonly enabled: boolean;
    readonly releaseName: string;
    readonly namespace: string;
    /** Helm `--timeout`, seconds. */
    readonly timeoutSeconds: number;
    /** Per-stack values, deep-merged over the program's defaults (arrays are replaced). */
    readonly values: Readonly<Record<string, unknown>>;
}

export interface IngressNginxSpec extends AddonSpec {
    readonly replicas: number;
    /** TLS versions the controller offers (`ssl-protocols`), e.g. only TLSv1.3. */
    readonly sslProtocols: readonly string[];
}

export interface CertManagerSpec extends AddonSpec {
    /** ACME account email for the Let's Encrypt ClusterIssuers. */
    readonly acmeEmail: string;
    /** Create the letsencrypt-prod and letsencrypt-staging ClusterIssuers. */
    readonly clusterIssuers: boolean;
}

export interface MetricsServerSpec extends AddonSpec {
    /** `--kubelet-insecure-tls`, for kind/minikube/kubeadm clusters whose kubelet certs lack IP SANs. Never in prod. */
    readonly kubeletInsecureTls: boolean;
    /**
     * The API server verifies metrics-server's serving certificate (the chart generates one and puts
     * its CA in the APIService) instead of the chart's `insecureSkipTLSVerify: true`.
     */
    readonly verifyApiServiceTls: boolean;
}

export interface KubePrometheusStackSpec extends AddonSpec {
    readonly retention: string;
    readonly storageSize: string;
    readonly storageClass: string;
    /** Route alerts to the webhook in the `alertWebhookUrl` secret instead of the chart's null receiver. */
    readonly routeAlerts: boolean;
    /**
     * Scrape and alert on kube-scheduler, kube-controller-manager, etcd and kube-proxy. Only where
     * Prometheus can reach their metrics endpoints: managed control planes (EKS, GKE, AKS) hide them
     * and kubeadm binds them to 127.0.0.1, so the chart's "down" alerts would fire forever.
     */
    readonly controlPlaneMonitoring: boolean;
    readonly alertmanagerReplicas: number;
    /** Alertmanager's volume (silences and notification state survive restarts). */
    readonly alertmanagerStorageSize: string;
}

export interface PrometheusAdapterSpec extends AddonSpec {
    /**
     * The Prometheus the adapter queries: `prometheusUrl` when set, else the kube-prometheus-stack
     * add-on's Prometheus Service when that add-on is on; empty when neither (refused if enabled).
     */
    readonly prometheusUrl: string;
    /**
     * The cluster already serves the custom metrics API (`custom.metrics.k8s.io`) from an adapter
     * installed outside this stack, so the services' `podsMetrics` can be read without this add-on.
     */
    readonly fromCluster: boolean;
}

export interface AddonsConfig {
    readonly ingressNginx: IngressNginxSpec;
    readonly certManager: CertManagerSpec;
    readonly metricsServer: MetricsServerSpec;
    readonly kubePrometheusStack: KubePrometheusStackSpec;
    readonly prometheusAdapter: PrometheusAdapterSpec;
}

// Secret settings (stacks/secrets.ts reads them).

/** Kinds a stack may declare its own secrets with. */
export type CustomSecretKind = "password" | "external";
export interface SecretSettings {
    /** Every needed generated secret must be in encrypted config; no in-program random fallback. */
    readonly requireConfigured: boolean;
    /** Azure AD single sign-on is on: its client id and secret must be configured. */
    readonly azureAdSso: boolean;
    /**
     * The stack's own secrets (e.g. a payment provider's API key), key -> kind: stored like the
     * built-in ones under `platform:<key>`, always encrypted, and read by services through `secretEnv`.
     */
    readonly custom: Readonly<Record<string, CustomSecretKind>>;
}
