/**
 * Every rule of dockyard's policy pack, in one list. Tests import this list (never `../index`,
 * which starts the policy server).
 */
import type { Policies } from "@pulumi/policy";
import { natGatewayPerAzOutsideProduction } from "./cost";
import { ecrImmutableTags, ecrLifecyclePolicy, ecrScanOnPush } from "./ecr";
import { eksControlPlaneLogs, eksEndpointNotPublic, eksNodeGroupNoRemoteAccess, eksSecretsEncryption } from "./eks";
import { iamNoAdminManagedPolicies, iamNoUserCredentials, iamNoWildcardActions, iamTrustNoPublicPrincipal } from "./iam";
import { imagesImmutableDeployRepositories, imagesNoCacheDeploys } from "./images";
import { imdsHopLimit, imdsv2Required } from "./instances";
import { kmsKeyRotation } from "./kms";
import {
    k8sCapabilities,
    k8sDefaultProcMount,
    k8sNoHostNamespaces,
    k8sNoHostPaths,
    k8sNoHostPorts,
    k8sNoPrivilegeEscalation,
    k8sNoSecretEnv,
    k8sNotDefaultNamespace,
    k8sNotPrivileged,
    k8sPinnedImages,
    k8sProbes,
    k8sReadOnlyRootFilesystem,
    k8sResourceLimits,
    k8sRunAsNonRoot,
    k8sSeccomp,
    k8sServiceAccountToken,
} from "./kubernetes";
import {
    helmPinnedChartVersion,
    k8sDefaultDenyNetworkPolicy,
    k8sIngressListenPorts,
    k8sNamespacePodSecurity,
    k8sNoPowerfulBindings,
    k8sNoRbacWildcards,
    k8sPdbAllowsDisruption,
    k8sServiceExposure,
    k8sStorageClassEncrypted,
} from "./kubernetesCluster";
import { logGroupRetention } from "./logs";
import { workloadPrivileges } from "./privileges";
import { noPublicResourcePolicies } from "./resourcePolicies";
import { listenersOnlyOnLoadBalancers, noAdminPortsFromInternet, noInternetIngressAcrossRules, noPublicIngressExceptListeners } from "./securityGroups";
import { ebsEncrypted, efsAccessPointsEnforced, efsEncrypted } from "./storage";
import {
    swarmCapabilities,
    swarmHealthCheck,
    swarmNoHostMounts,
    swarmNoHostNetwork,
    swarmNoHostVolumes,
    swarmNonRootUser,
    swarmOverlayEncrypted,
    swarmPinnedImages,
    swarmReadOnly,
    swarmResourceLimits,
    swarmRollbackOnFailure,
} from "./swarm";

export const policies: Policies = [
    iamNoWildcardActions,
    iamTrustNoPublicPrincipal,
    iamNoAdminManagedPolicies,
    iamNoUserCredentials,
    noPublicResourcePolicies,
    kmsKeyRotation,
    logGroupRetention,
    ebsEncrypted,
    efsEncrypted,
    efsAccessPointsEnforced,
    imdsv2Required,
    imdsHopLimit,
    noPublicIngressExceptListeners,
    noAdminPortsFromInternet,
    listenersOnlyOnLoadBalancers,
    noInternetIngressAcrossRules,
    ecrScanOnPush,
    ecrImmutableTags,
    ecrLifecyclePolicy,
    imagesNoCacheDeploys,
    imagesImmutableDeployRepositories,
    eksControlPlaneLogs,
    eksSecretsEncryption,
    eksEndpointNotPublic,
    eksNodeGroupNoRemoteAccess,
    k8sRunAsNonRoot,
    k8sNotPrivileged,
    k8sNoPrivilegeEscalation,
    k8sCapabilities,
    k8sSeccomp,
    k8sDefaultProcMount,
    k8sNoHostNamespaces,
    k8sNoHostPaths,
    k8sNoHostPorts,
    k8sServiceAccountToken,
    k8sResourceLimits,
    k8sReadOnlyRootFilesystem,
    k8sPinnedImages,
    k8sProbes,
    k8sNoSecretEnv,
    k8sNotDefaultNamespace,
    k8sNamespacePodSecurity,
    k8sNoPowerfulBindings,
    k8sNoRbacWildcards,
    k8sServiceExposure,
    k8sIngressListenPorts,
    k8sStorageClassEncrypted,
    k8sPdbAllowsDisruption,
    k8sDefaultDenyNetworkPolicy,
    helmPinnedChartVersion,
    swarmHealthCheck,
    swarmRollbackOnFailure,
    swarmResourceLimits,
    swarmReadOnly,
    swarmNonRootUser,
    swarmPinnedImages,
    swarmNoHostMounts,
    swarmCapabilities,
    swarmNoHostNetwork,
    swarmNoHostVolumes,
    swarmOverlayEncrypted,
    workloadPrivileges,
    natGatewayPerAzOutsideProduction,
];
