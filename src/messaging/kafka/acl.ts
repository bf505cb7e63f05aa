import kafkajs from './kafkajs.js';
import type { DescribeAclResource } from 'kafkajs';
import type { AclGrant, AclGrantFilter, AclOperation, AclResource } from './types.js';

const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs;

/** One ALLOW entry as kafkajs names it, for creating and for deleting exactly that entry. */
export function toKafkaAcl(grant: AclGrant) {
  return {
    resourceType: AclResourceTypes[grant.resource],
    resourceName: grant.name,
    resourcePatternType: ResourcePatternTypes[grant.pattern],
    principal: grant.principal,
    host: '*',
    operation: AclOperationTypes[grant.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
}

/** The DescribeAcls filter of the ALLOW entries, of any operation, that `filter` matches. */
export function toKafkaAclFilter(filter: AclGrantFilter) {
  return {
    resourceType: filter.resource ? AclResourceTypes[filter.resource] : AclResourceTypes.ANY,
    resourcePatternType: filter.pattern ? ResourcePatternTypes[filter.pattern] : ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ALLOW,
    ...(filter.name === undefined ? {} : { resourceName: filter.name }),
    ...(filter.principal === undefined ? {} : { principal: filter.principal }),
  };
}

/** The described entries AclGrant can express; those of other operations or resource types are left out. */
export function fromKafkaAcls(resources: readonly DescribeAclResource[]): AclGrant[] {
  const grants: AclGrant[] = [];
  for (const resource of resources) {
    const type = nameOf(AclResourceTypes, resource.resourceType, ACL_RESOURCES);
    const pattern = nameOf(ResourcePatternTypes, resource.resourcePatternType, ACL_PATTERNS);
    if (!type || !pattern) continue;
    for (const acl of resource.acls) {
      const operation = nameOf(AclOperationTypes, acl.operation, ACL_OPERATIONS);
      if (operation) grants.push({ principal: acl.principal, resource: type, name: resource.resourceName, pattern, operation });
    }
  }
  return grants;
}

// Records, so that a member added to a union has to be added here too.
const ACL_OPERATIONS: Readonly<Record<AclOperation, true>> = { READ: true, WRITE: true, DESCRIBE: true, CREATE: true, ALL: true };
const ACL_RESOURCES: Readonly<Record<AclResource, true>> = { TOPIC: true, GROUP: true, TRANSACTIONAL_ID: true, CLUSTER: true };
const ACL_PATTERNS: Readonly<Record<AclGrant['pattern'], true>> = { LITERAL: true, PREFIXED: true };

/** The name of a kafkajs enum value, when it is one of `names`. */
function nameOf<N extends string>(enumeration: object, value: number, names: Readonly<Record<N, true>>): N | undefined {
  return (Object.keys(names) as N[]).find((name) => (enumeration as Record<string, unknown>)[name] === value);
}
