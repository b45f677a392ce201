/**
 * Every rule of dockyard's policy pack, in one list. Tests import this list (never `../index`,
 * which starts the policy server).
 */
import type { Policies } from "@pulumi/policy";
import { natGatewayPerAzOutsideProduction } from "./cost";
import { ecrImmutableTags, ecrScanOnPush } from "./ecr";
import { eksControlPlaneLogs, eksEndpointNotPublic, eksSecretsEncryption } from "./eks";
import { imagesImmutableDeployRepositories, imagesNoCacheDeploys } from "./images";
import { imdsv2Required } from "./instances";
import { k8sNoHostNamespaces, k8sNotPrivileged, k8sPinnedImages, k8sReadOnlyRootFilesystem, k8sResourceLimits, k8sRunAsNonRoot } from "./kubernetes";
import { listenersOnlyOnLoadBalancers, noAdminPortsFromInternet, noPublicIngressExceptListeners } from "./securityGroups";
import { ebsEncrypted, efsEncrypted } from "./storage";
import { swarmHealthCheck, swarmNonRootUser, swarmPinnedImages, swarmReadOnly, swarmResourceLimits, swarmRollbackOnFailure } from "./swarm";

export const policies: Policies = [
    ebsEncrypted,
    efsEncrypted,
    imdsv2Required,
    noPublicIngressExceptListeners,
    noAdminPortsFromInternet,
    listenersOnlyOnLoadBalancers,
    ecrScanOnPush,
    ecrImmutableTags,
    imagesNoCacheDeploys,
    imagesImmutableDeployRepositories,
    eksControlPlaneLogs,
    eksSecretsEncryption,
    eksEndpointNotPublic,
    k8sRunAsNonRoot,
    k8sNotPrivileged,
    k8sNoHostNamespaces,
    k8sResourceLimits,
    k8sReadOnlyRootFilesystem,
    k8sPinnedImages,
    swarmHealthCheck,
    swarmRollbackOnFailure,
    swarmResourceLimits,
    swarmReadOnly,
    swarmNonRootUser,
    swarmPinnedImages,
    natGatewayPerAzOutsideProduction,
];
