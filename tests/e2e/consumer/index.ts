// A consumer of the platform's stack-output contract (README: "Stack outputs").
import * as pulumi from "@pulumi/pulumi";

const platform = new pulumi.StackReference(new pulumi.Config().require("platformStack"));

export const namespace = platform.requireOutput("namespace");
export const postgresHost = platform.requireOutput("postgresHost");
/** Stays secret here because it is secret in the platform stack. */
export const databaseUrl = platform.requireOutput("databaseUrl");
