/**
 * dockyard's CrossGuard policy pack: `pulumi preview --policy-pack policy`. Constructing the pack
 * starts the policy server, so nothing but the Pulumi CLI loads this file; the rules live in
 * `rules/`.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("dockyard", { policies, description: "Guard rails for dockyard stacks: encryption, IMDSv2, no internet-facing admin ports, hardened containers, and cost hints." });
